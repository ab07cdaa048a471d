// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// encoder writes journal lines byte for byte as encoding/json marshals a record (the
// format every journal has, which replay reads with encoding/json), into one buffer
// reused from append to append: reflection and a sorted copy of every map made the
// encoding the ledger's largest cost per request. Not safe for concurrent use (the
// ledger's lock serialises appends).
type encoder struct {
	buf    []byte
	keys   []string
	bounds boundsText
}

// record encodes the line of record{Deltas: deltas, Deliveries: applied, At: at}, with
// its trailing newline. The error is encoding/json's for the same record (a NaN or
// infinite number).
func (e *encoder) record(deltas []*Stream, applied []delivery, at int64) ([]byte, error) {
	b := append(e.buf[:0], `{"deltas":`...)
	var err error
	if deltas == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, d := range deltas {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = e.stream(b, d); err != nil {
				e.buf = b
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if len(applied) > 0 {
		b = append(b, `,"deliveries":[`...)
		for i, d := range applied {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDelivery(b, d)
		}
		b = append(b, ']')
	}
	if at != 0 {
		b = strconv.AppendInt(append(b, `,"at":`...), at, 10)
	}
	b = append(b, "}\n"...)
	e.buf = b
	return b, nil
}

// keptBuffer bounds the buffer kept between appends: one huge request must not hold its
// line's memory for good.
const keptBuffer = 1 << 20

func (e *encoder) trim() {
	if cap(e.buf) > keptBuffer {
		e.buf = nil
	}
}

// stream follows Stream's fields and json tags: change them together.
func (e *encoder) stream(b []byte, s *Stream) ([]byte, error) {
	b = appendString(append(b, `{"name":`...), s.Name)
	if s.Description != "" {
		b = appendString(append(b, `,"description":`...), s.Description)
	}
	if s.Unit != "" {
		b = appendString(append(b, `,"unit":`...), s.Unit)
	}
	b = appendString(append(b, `,"kind":`...), s.Kind)
	if s.Monotonic {
		b = append(b, `,"monotonic":true`...)
	}
	if s.Scope != "" {
		b = appendString(append(b, `,"scope":`...), s.Scope)
	}
	if len(s.Resource) > 0 {
		b = e.stringMap(append(b, `,"resource":`...), s.Resource)
	}
	if len(s.Attributes) > 0 {
		b = e.stringMap(append(b, `,"attributes":`...), s.Attributes)
	}
	var err error
	if len(s.Bounds) > 0 {
		if b, err = e.appendBounds(append(b, `,"bounds":`...), s.Bounds); err != nil {
			return b, err
		}
	}
	b = strconv.AppendInt(append(b, `,"start":`...), s.Start, 10)
	b = strconv.AppendInt(append(b, `,"last":`...), s.Last, 10)
	if b, err = appendFloat(append(b, `,"sum":`...), s.Sum); err != nil {
		return b, err
	}
	if s.Count != 0 {
		b = strconv.AppendUint(append(b, `,"count":`...), s.Count, 10)
	}
	if len(s.Buckets) > 0 {
		b = append(b, `,"buckets":[`...)
		for i, c := range s.Buckets {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, c, 10)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (e *encoder) appendBounds(b []byte, bounds []float64) ([]byte, error) {
	text, ok := e.bounds.get(bounds)
	if !ok {
		var err error
		text = append(text, '[')
		for i, f := range bounds {
			if i > 0 {
				text = append(text, ',')
			}
			if text, err = appendFloat(text, f); err != nil {
				return b, err
			}
		}
		text = append(text, ']')
		e.bounds.set(bounds, text)
	}
	return append(b, text...), nil
}

// stringMap writes m with its keys sorted, as encoding/json does.
func (e *encoder) stringMap(b []byte, m map[string]string) []byte {
	e.keys = e.keys[:0]
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	b = append(b, '{')
	for i, k := range e.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(appendString(b, k), ':'), m[k])
	}
	clear(e.keys) // holds no label value past the append
	return append(b, '}')
}

func appendDelivery(b []byte, d delivery) []byte {
	if !plainASCII(d.process) {
		return appendString(b, d.String())
	}
	b = append(append(b, '"'), d.process...)
	b = strconv.AppendUint(append(b, ':'), d.seq, 10)
	return append(b, '"')
}

// appendString writes s as a JSON string. Label values are nearly always plain ASCII,
// written as they are; anything else is left to encoding/json, whose escaping (HTML
// characters, U+2028, invalid UTF-8) the journal has always had.
func appendString(b []byte, s string) []byte {
	if plainASCII(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	quoted, _ := json.Marshal(s) // a string always marshals
	return append(b, quoted...)
}

// plainASCII: s holds only printable ASCII that encoding/json writes unescaped.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendFloat writes f as encoding/json does (its floatEncoder, for float64).
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 is written e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
