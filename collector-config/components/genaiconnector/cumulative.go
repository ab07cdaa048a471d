// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// cumulative turns the running totals of a cumulative stream into what each point adds,
// as cumulative_to_delta with initial_value auto did: the first point of a stream that
// started after the collector counts in full; one that started before (the collector
// restarted under a live process) is a baseline, counted from its next point on. A total
// that goes down, or a new start time, is a restart of the producer: counted in full.
type cumulative struct {
	mu        sync.Mutex
	cfg       Cumulative
	started   pcommon.Timestamp
	streams   map[string]*stream
	lastSweep time.Time
	reasons   Reasons
}

type stream struct {
	start, stamp pcommon.Timestamp
	value        float64
	count        uint64
	seen         time.Time
}

func newCumulative(cfg Cumulative, reasons Reasons, started time.Time) *cumulative {
	return &cumulative{cfg: cfg, reasons: reasons, started: pcommon.NewTimestampFromTime(started), streams: map[string]*stream{}, lastSweep: started}
}

// delta is what r adds to its stream (key, from streamKeys), or the reason it adds
// nothing usable.
func (c *cumulative) delta(key []byte, r reading) (float64, string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	s, ok := c.streams[string(key)]
	if !ok {
		if len(c.streams) >= c.cfg.MaxStreams {
			return 0, c.reasons.TooManyStreams
		}
		c.streams[string(key)] = &stream{start: r.start, stamp: r.stamp, value: r.value, count: r.count, seen: now}
		if r.start != 0 && r.start >= c.started {
			return r.value, ""
		}
		return 0, ""
	}
	s.seen = now
	switch {
	case r.stamp < s.stamp:
		return 0, c.reasons.OutOfOrder
	case r.stamp == s.stamp && r.start == s.start:
		return 0, "" // the same point again
	}
	restarted := (r.start != 0 && r.start != s.start) || r.value < s.value || r.count < s.count
	d := r.value - s.value
	if restarted {
		d = r.value
	}
	s.start, s.stamp, s.value, s.count = r.start, r.stamp, r.value, r.count
	return d, ""
}

// sweep forgets streams unseen for MaxStaleness, at most once a minute.
func (c *cumulative) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < time.Minute {
		return
	}
	c.lastSweep = now
	for k, s := range c.streams {
		if now.Sub(s.seen) > c.cfg.MaxStaleness {
			delete(c.streams, k)
		}
	}
}

// streamKeys writes the keys of cumulative streams: who sent a stream (every resource
// attribute), its scope, its metric and its point's attributes, each map in key order,
// so that a key does not depend on the order a producer wrote the attributes in. One
// request's keys reuse its buffers, and each resource's part is written once: a key is
// built for every cumulative point, and only a new stream's is kept (as a string).
type streamKeys struct {
	res    pcommon.Map
	resLen int // -1: the resource's part is not written yet
	buf    []byte
	attrs  []attr
}

type attr struct {
	key   string
	value pcommon.Value
}

// resource starts the points of another resource.
func (k *streamKeys) resource(res pcommon.Map) {
	k.res, k.resLen = res, -1
}

// key is the key of a point's stream, valid until the next call.
func (k *streamKeys) key(scope, metric string, point pcommon.Map) []byte {
	if k.resLen < 0 {
		k.buf = k.appendMap(k.buf[:0], k.res)
		k.resLen = len(k.buf)
	}
	buf := append(k.buf[:k.resLen], 1)
	buf = append(buf, scope...)
	buf = append(buf, 1)
	buf = append(buf, metric...)
	buf = append(buf, 1)
	k.buf = k.appendMap(buf, point)
	return k.buf
}

func (k *streamKeys) appendMap(buf []byte, m pcommon.Map) []byte {
	attrs := k.attrs[:0]
	for key, v := range m.All() {
		attrs = append(attrs, attr{key, v})
	}
	slices.SortFunc(attrs, func(a, b attr) int { return strings.Compare(a.key, b.key) })
	for _, a := range attrs {
		buf = append(buf, a.key...)
		buf = append(buf, 0)
		buf = append(buf, a.value.AsString()...)
		buf = append(buf, 0)
	}
	k.attrs = attrs[:0]
	return buf
}
