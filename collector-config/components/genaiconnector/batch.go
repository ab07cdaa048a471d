// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// output is one series the connector writes: its names, and which of an item's label
// values (by index into the connector's label table) it takes, in order.
type output struct {
	Metric
	keys      []string
	labels    []int
	histogram bool
}

// origin is who sent what a batch holds: the ledger bounds new label values per producer,
// and applies each delivery once (a call that waited for its agent span is one).
type origin struct{ producer, instance, delivery string }

// batch adds up what one request makes, per origin, before it goes to the ledger: one
// delta per series and label set, however many points or spans made it.
type batch struct {
	g      *genai
	groups map[origin]*group
	order  []*group
	last   *group // the group of the last add: an export's items are mostly one origin's
	// The stream of the last add: a batch of spans mostly repeats one label set, which
	// is then found by comparing its values, without building and hashing a key.
	lastAcc *acc
	key     []byte
	// Scratch of ConsumeMetrics, reused from point to point.
	readings []reading
	streams  streamKeys
	// The span type of the last library span and its series: a batch of spans mostly
	// repeats a few types, compared for less than a map lookup costs.
	lastType   string
	lastSeries []*spanOutput
	// The journal records of the calls this batch settles after they waited, and their
	// ids, journaled done once the ledger has them.
	settles []journalRecord
	done    []uint64
}

type group struct {
	origin origin
	accs   map[string]*acc
	order  []*acc
}

type acc struct {
	out     *output
	group   *group
	values  []string
	sum     float64
	count   uint64
	buckets []uint64
}

func (g *genai) newBatch() *batch {
	return &batch{g: g, groups: map[origin]*group{}}
}

// spanSeries is the series of a library span type (none: the type has none).
func (b *batch) spanSeries(spanType string) []*spanOutput {
	if b.lastSeries == nil || spanType != b.lastType {
		b.lastType, b.lastSeries = spanType, b.g.spanSeries[spanType]
	}
	return b.lastSeries
}

func (b *batch) group(o origin) *group {
	if b.last != nil && b.last.origin == o {
		return b.last
	}
	gr, ok := b.groups[o]
	if !ok {
		gr = &group{origin: o, accs: map[string]*acc{}}
		b.groups[o] = gr
		b.order = append(b.order, gr)
	}
	b.last = gr
	return gr
}

// add sums value into out's stream of the item's label values.
func (b *batch) add(o origin, out *output, item []string, value float64) {
	a := b.find(o, out, item)
	a.sum += value
}

// observe records one duration, in seconds, into out's histogram.
func (b *batch) observe(o origin, out *output, item []string, seconds float64) {
	a := b.find(o, out, item)
	if a.buckets == nil {
		a.buckets = make([]uint64, len(b.g.cfg.SpanSeries.Buckets)+1)
	}
	a.sum += seconds
	a.count++
	a.buckets[bucket(b.g.cfg.SpanSeries.Buckets, seconds)]++
}

// bucket is the index of the bucket of bounds that seconds counts in: the first bound
// at or above it, as Prometheus' le (sort.SearchFloat64s, without its closure call per
// step).
func bucket(bounds []float64, seconds float64) int {
	i, j := 0, len(bounds)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !(bounds[h] >= seconds) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

func (b *batch) find(o origin, out *output, item []string) *acc {
	if a := b.lastAcc; a != nil && a.out == out && a.group.origin == o && a.holds(item) {
		return a
	}
	a := b.findKeyed(b.group(o), out, item)
	b.lastAcc = a
	return a
}

// holds: whether the item has this stream's label values.
func (a *acc) holds(item []string) bool {
	for j, i := range a.out.labels {
		if a.values[j] != item[i] {
			return false
		}
	}
	return true
}

func (b *batch) findKeyed(gr *group, out *output, item []string) *acc {
	b.key = append(b.key[:0], out.Name...)
	for _, i := range out.labels {
		b.key = append(append(b.key, 0), item[i]...)
	}
	if a, ok := gr.accs[string(b.key)]; ok {
		return a
	}
	values := make([]string, len(out.labels))
	for j, i := range out.labels {
		values[j] = item[i]
	}
	a := &acc{out: out, group: gr, values: values}
	gr.accs[string(b.key)] = a
	gr.order = append(gr.order, a)
	return a
}

// unused counts n items not used, by signal, reason and producer.
func (b *batch) unused(o origin, signal, reason, producer string, n int) {
	if n <= 0 {
		return
	}
	b.add(o, b.g.unused, []string{signal, reason, b.g.producer(producer)}, float64(n))
}

// metrics renders the batch as delta sums and histograms, one resource per origin.
func (b *batch) metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	cfg := b.g.cfg
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, gr := range b.order {
		if len(gr.order) == 0 {
			continue
		}
		rm := md.ResourceMetrics().AppendEmpty()
		attrs := rm.Resource().Attributes()
		for k, v := range cfg.Resource {
			attrs.PutStr(k, v)
		}
		if cfg.Origin.Producer != "" && gr.origin.producer != "" {
			attrs.PutStr(cfg.Origin.Producer, gr.origin.producer)
		}
		if cfg.Origin.Instance != "" && gr.origin.instance != "" {
			attrs.PutStr(cfg.Origin.Instance, gr.origin.instance)
		}
		if cfg.Origin.Delivery != "" && gr.origin.delivery != "" {
			attrs.PutStr(cfg.Origin.Delivery, gr.origin.delivery)
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(cfg.Scope)
		metrics := map[*output]pmetric.Metric{}
		for _, a := range gr.order {
			m, ok := metrics[a.out]
			if !ok {
				m = newMetric(sm, a.out)
				metrics[a.out] = m
			}
			var attrs pcommon.Map
			if a.out.histogram {
				dp := m.Histogram().DataPoints().AppendEmpty()
				dp.SetTimestamp(now)
				dp.SetCount(a.count)
				dp.SetSum(a.sum)
				dp.ExplicitBounds().FromRaw(cfg.SpanSeries.Buckets)
				dp.BucketCounts().FromRaw(a.buckets)
				attrs = dp.Attributes()
			} else {
				dp := m.Sum().DataPoints().AppendEmpty()
				dp.SetTimestamp(now)
				dp.SetDoubleValue(a.sum)
				attrs = dp.Attributes()
			}
			attrs.EnsureCapacity(len(a.values))
			for j, v := range a.values {
				attrs.PutStr(a.out.keys[j], v)
			}
		}
	}
	return md
}

func newMetric(sm pmetric.ScopeMetrics, out *output) pmetric.Metric {
	m := sm.Metrics().AppendEmpty()
	m.SetName(out.Name)
	m.SetDescription(out.Description)
	m.SetUnit(out.Unit)
	if out.histogram {
		m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		return m
	}
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	s.SetIsMonotonic(true)
	return m
}
