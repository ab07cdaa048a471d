// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"sort"
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

// delta is what r adds to its stream, or the reason it adds nothing usable.
func (c *cumulative) delta(key string, r reading) (float64, string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	s, ok := c.streams[key]
	if !ok {
		if len(c.streams) >= c.cfg.MaxStreams {
			return 0, c.reasons.TooManyStreams
		}
		c.streams[key] = &stream{start: r.start, stamp: r.stamp, value: r.value, count: r.count, seen: now}
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

// streamKey identifies a cumulative stream: who sent it (every resource attribute), the
// scope, the metric and the point's attributes, in a stable order.
func streamKey(resource pcommon.Map, scope, metric string, point pcommon.Map) string {
	var b strings.Builder
	writeMap(&b, resource)
	b.WriteByte(1)
	b.WriteString(scope)
	b.WriteByte(1)
	b.WriteString(metric)
	b.WriteByte(1)
	writeMap(&b, point)
	return b.String()
}

func writeMap(b *strings.Builder, m pcommon.Map) {
	keys := make([]string, 0, m.Len())
	for k := range m.All() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(v.AsString())
		b.WriteByte(0)
	}
}
