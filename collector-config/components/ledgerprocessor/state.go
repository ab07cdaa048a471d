// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"math"
	"slices"
	"strconv"
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
	// lastApply is the ledger's apply call that last updated the stream.
	lastApply uint64
}

// keyer writes what identifies a stream into a buffer it reuses: a map lookup by
// string(key) allocates nothing, so only a new stream's key is ever copied.
type keyer struct {
	buf    []byte
	keys   []string
	bounds boundsText
}

// key identifies s: two points with the same key add to the same total. It is valid
// until the keyer's next use.
func (kr *keyer) key(s *Stream) []byte {
	b := append(kr.buf[:0], s.Name...)
	b = append(b, 0)
	b = append(b, s.Kind...)
	b = append(b, 0)
	b = kr.appendMap(b, s.Resource)
	b = append(b, 0)
	b = kr.appendMap(b, s.Attributes)
	if len(s.Bounds) > 0 {
		text, ok := kr.bounds.get(s.Bounds)
		if !ok {
			for _, bound := range s.Bounds {
				text = strconv.AppendFloat(append(text, 0), bound, 'g', -1, 64)
			}
			kr.bounds.set(s.Bounds, text)
		}
		b = append(b, text...)
	}
	kr.buf = b
	return b
}

// boundsText remembers the text of the last histogram bounds formatted: a series has
// one set of bounds, and formatting them cost more than the rest of its point.
type boundsText struct {
	bounds []float64
	text   []byte
}

// get is the text of bounds, if they are the last ones set, bit for bit; else an empty
// buffer to format them into, and nothing is remembered until set.
func (bt *boundsText) get(bounds []float64) ([]byte, bool) {
	if len(bounds) > 0 && slices.EqualFunc(bounds, bt.bounds, sameBits) {
		return bt.text, true
	}
	bt.bounds = bt.bounds[:0] // the text is overwritten from here on
	return bt.text[:0], false
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func (bt *boundsText) set(bounds []float64, text []byte) {
	bt.bounds = append(bt.bounds[:0], bounds...)
	bt.text = text
}

// resource identifies s's resource and scope (for render), valid as key's.
func (kr *keyer) resource(s *Stream) (resource, scope []byte) {
	b := kr.appendMap(kr.buf[:0], s.Resource)
	n := len(b)
	b = append(append(b, 3), s.Scope...)
	kr.buf = b
	return b[:n], b
}

func (kr *keyer) appendMap(b []byte, m map[string]string) []byte {
	kr.keys = kr.keys[:0]
	for k := range m {
		kr.keys = append(kr.keys, k)
	}
	slices.Sort(kr.keys)
	for _, k := range kr.keys {
		b = append(append(b, k...), 1)
		b = append(append(b, m[k]...), 2)
	}
	clear(kr.keys) // holds no label key past the call
	return b
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
	keyer      keyer
}

func newState(cfg *Config) *state {
	return &state{streams: map[string]*Stream{}, deliveries: deliveries{}, bounds: newBounds(cfg)}
}

// find is d's stream (nil if it has none yet) and d's key, valid until the next find.
func (st *state) find(d *Stream) (*Stream, []byte) {
	k := st.keyer.key(d)
	return st.streams[string(k)], k
}

// apply adds d to its stream, creating the stream at d's time if it is new.
func (st *state) apply(d *Stream) *Stream {
	s, k := st.find(d)
	if s == nil {
		s = &Stream{
			Name: d.Name, Description: d.Description, Unit: d.Unit, Kind: d.Kind,
			Monotonic: d.Monotonic, Scope: d.Scope, Resource: d.Resource,
			Attributes: d.Attributes, Bounds: d.Bounds, Start: d.Start, Last: d.Last,
		}
		st.streams[string(k)] = s
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
