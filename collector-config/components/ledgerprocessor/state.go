// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"sort"
	"strconv"
	"strings"
)

const (
	kindSum       = "sum"
	kindHistogram = "histogram"
)

// Stream is one fleet-wide series: what identifies it, and its running total.
type Stream struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Unit        string            `json:"unit,omitempty"`
	Kind        string            `json:"kind"`
	Monotonic   bool              `json:"monotonic,omitempty"`
	Scope       string            `json:"scope,omitempty"`
	Resource    map[string]string `json:"resource,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Bounds      []float64         `json:"bounds,omitempty"`
	// Start is when the stream first received a point: Prometheus' created timestamp.
	Start int64 `json:"start"`
	// Last is when it last received one, for MaxStale.
	Last    int64    `json:"last"`
	Sum     float64  `json:"sum"`
	Count   uint64   `json:"count,omitempty"`
	Buckets []uint64 `json:"buckets,omitempty"`
}

// key identifies a stream: two points with the same key add to the same total.
func (s *Stream) key() string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte(0)
	b.WriteString(s.Kind)
	b.WriteByte(0)
	writeMap(&b, s.Resource)
	b.WriteByte(0)
	writeMap(&b, s.Attributes)
	for _, bound := range s.Bounds {
		b.WriteByte(0)
		b.WriteString(strconv.FormatFloat(bound, 'g', -1, 64))
	}
	return b.String()
}

func writeMap(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(m[k])
		b.WriteByte(2)
	}
}

// add adds a delta's values into the stream. Histogram bounds are part of the key, so
// the bucket slices always have the same length.
func (s *Stream) add(d *Stream) {
	s.Sum += d.Sum
	s.Count += d.Count
	if len(s.Buckets) < len(d.Buckets) {
		s.Buckets = append(s.Buckets, make([]uint64, len(d.Buckets)-len(s.Buckets))...)
	}
	for i, c := range d.Buckets {
		s.Buckets[i] += c
	}
	if d.Last > s.Last {
		s.Last = d.Last
	}
}

// state is the set of streams and, derived from it, the label values seen per metric.
type state struct {
	streams map[string]*Stream
	// seen[metric][label] holds the distinct values admitted, for MaxLabelValues.
	seen map[string]map[string]map[string]struct{}
}

func newState() *state {
	return &state{streams: map[string]*Stream{}, seen: map[string]map[string]map[string]struct{}{}}
}

// apply adds d to its stream, creating the stream at d's time if it is new.
func (st *state) apply(d *Stream) *Stream {
	k := d.key()
	s, ok := st.streams[k]
	if !ok {
		s = &Stream{
			Name: d.Name, Description: d.Description, Unit: d.Unit, Kind: d.Kind,
			Monotonic: d.Monotonic, Scope: d.Scope, Resource: d.Resource,
			Attributes: d.Attributes, Bounds: d.Bounds, Start: d.Start, Last: d.Last,
		}
		st.streams[k] = s
		st.admit(d.Name, d.Attributes)
	}
	s.add(d)
	return s
}

func (st *state) admit(metric string, attrs map[string]string) {
	labels := st.seen[metric]
	if labels == nil {
		labels = map[string]map[string]struct{}{}
		st.seen[metric] = labels
	}
	for k, v := range attrs {
		values := labels[k]
		if values == nil {
			values = map[string]struct{}{}
			labels[k] = values
		}
		values[v] = struct{}{}
	}
}

// admitted reports whether value of label on metric is already known, and how many
// distinct values that label has.
func (st *state) admitted(metric, label, value string) (bool, int) {
	values := st.seen[metric][label]
	_, ok := values[value]
	return ok, len(values)
}

// expire forgets the streams not updated since before cutoff, and rebuilds seen.
func (st *state) expire(cutoff int64) int {
	removed := 0
	for k, s := range st.streams {
		if s.Last < cutoff {
			delete(st.streams, k)
			removed++
		}
	}
	if removed > 0 {
		st.seen = map[string]map[string]map[string]struct{}{}
		for _, s := range st.streams {
			st.admit(s.Name, s.Attributes)
		}
	}
	return removed
}
