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

	// Who sent a delta, for the label bounds; never journaled, never part of the key.
	producer     string
	producerName string
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

// state is the set of streams, the deliveries applied, and, derived from the streams,
// the label values in use.
type state struct {
	streams    map[string]*Stream
	deliveries deliveries
	bounds     *bounds
}

func newState(cfg *Config) *state {
	return &state{streams: map[string]*Stream{}, deliveries: deliveries{}, bounds: newBounds(cfg)}
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
	}
	s.add(d)
	for label, value := range d.Attributes {
		st.bounds.seen(d.Name, label, value, d.Last)
	}
	return s
}

// expire forgets the streams not updated since before cutoff, and their label values.
func (st *state) expire(cutoff int64) int {
	removed := 0
	for k, s := range st.streams {
		if s.Last < cutoff {
			delete(st.streams, k)
			removed++
		}
	}
	st.bounds.expire(cutoff)
	return removed
}

// replay applies one journal line: its deltas and its deliveries.
func (st *state) replay(rec *record) {
	for _, d := range rec.Deltas {
		st.apply(d)
	}
	for _, id := range rec.Deliveries {
		if d, ok := parseDelivery(id); ok {
			st.deliveries.add(d, rec.At)
		}
	}
}
