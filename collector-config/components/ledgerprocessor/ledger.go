// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
)

type ledger struct {
	cfg    *Config
	logger *zap.Logger
	next   consumer.Metrics

	// mu serialises journal appends, the totals and what is handed downstream, so the
	// exporter sees each stream's totals in the order they were reached.
	mu     sync.Mutex
	store  *store
	state  *state
	lastTS int64
	// expired is when the deliveries were last expired.
	expired int64
	// clock is the wall clock, but in tests.
	clock func() int64
	// applies counts apply's calls, which mark the streams they update with it.
	applies uint64
}

func newLedger(cfg *Config, logger *zap.Logger, next consumer.Metrics) *ledger {
	return &ledger{cfg: cfg, logger: logger, next: next, clock: func() int64 { return time.Now().UnixNano() }}
}

func (l *ledger) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start loads the totals, compacts them into a fresh snapshot and hands every stream to
// the exporter, so that series come back with their totals right after a restart.
func (l *ledger) Start(ctx context.Context, _ component.Host) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, st, torn, err := openStore(l.cfg)
	if err != nil {
		return err
	}
	if torn > 0 {
		l.logger.Warn("ledger: skipped torn journal lines (appends interrupted by a crash, never acknowledged)", zap.Int("lines", torn))
	}
	now := l.clock()
	expired := st.expire(now - l.cfg.MaxStale.Nanoseconds())
	st.deliveries.expire(now - l.cfg.DeliveryWindow.Nanoseconds())
	if err := s.compact(st); err != nil {
		s.close()
		return err
	}
	l.store, l.state = s, st
	l.logger.Info("ledger: totals loaded", zap.String("directory", l.cfg.Directory),
		zap.Int("streams", len(st.streams)), zap.Int("expired", expired),
		zap.Int("processes_with_deliveries", len(st.deliveries)))
	if len(st.streams) == 0 {
		return nil
	}
	all := make([]*Stream, 0, len(st.streams))
	for _, stream := range st.streams {
		all = append(all, stream)
	}
	return l.next.ConsumeMetrics(ctx, l.render(all))
}

func (l *ledger) Shutdown(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return nil
	}
	err := l.store.compact(l.state)
	if cerr := l.store.close(); err == nil {
		err = cerr
	}
	l.store = nil
	return err
}

// ConsumeMetrics journals and adds every delta sum and delta histogram point, then hands
// the updated totals downstream with anything else unchanged. It returns only after the
// journal append, so an acknowledged export is on disk. A failed append adds nothing and
// is returned, so the sender retries. A delivery already applied adds nothing either and
// succeeds, so that its sender stops resending it.
func (l *ledger) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return fmt.Errorf("ledger is not started")
	}
	now := l.now()
	out, err := l.commit(l.take(md, now), now)
	if err != nil {
		return err
	}
	md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	if out.ResourceMetrics().Len() == 0 {
		return nil
	}
	return l.next.ConsumeMetrics(ctx, out)
}

// commit journals what b brings, then applies it and renders the totals it updated; it
// journals nothing if b brings nothing.
func (l *ledger) commit(b *batch, now int64) (pmetric.Metrics, error) {
	if len(b.deltas) == 0 && len(b.applied) == 0 {
		return pmetric.NewMetrics(), nil
	}
	if err := l.store.append(b.deltas, b.applied, b.at(now)); err != nil {
		return pmetric.Metrics{}, err
	}
	for _, d := range b.applied {
		l.state.deliveries.add(d, now)
	}
	l.expireDeliveries(now)
	out := l.render(l.apply(b.deltas))
	if l.store.size > l.cfg.CompactBytes {
		l.compact(now)
	}
	return out, nil
}

// apply adds the deltas and returns the streams they updated, each once.
func (l *ledger) apply(deltas []*Stream) []*Stream {
	// A mark on the stream, not a set of them, tells a stream met before in this call:
	// no set to allocate per request.
	l.applies++
	updated := make([]*Stream, 0, len(deltas))
	for _, d := range deltas {
		s := l.state.apply(d)
		if s.lastApply != l.applies {
			s.lastApply = l.applies
			updated = append(updated, s)
		}
	}
	return updated
}

// expireEvery spaces the scans for processes past DeliveryWindow: between compactions
// too, so that memory follows the processes of the window, not of the journal.
const expireEvery = int64(time.Minute)

func (l *ledger) expireDeliveries(now int64) {
	if now-l.expired < expireEvery {
		return
	}
	l.expired = now
	l.state.deliveries.expire(now - l.cfg.DeliveryWindow.Nanoseconds())
}

// compact folds the journal into a snapshot; failing that, the journal keeps growing and
// the next append retries.
func (l *ledger) compact(now int64) {
	l.state.expire(now - l.cfg.MaxStale.Nanoseconds())
	l.state.deliveries.expire(now - l.cfg.DeliveryWindow.Nanoseconds())
	if err := l.store.compact(l.state); err != nil {
		l.logger.Error("ledger: compaction failed", zap.Error(err))
	}
}

// now is a clock that never repeats or steps back, so each total handed downstream is
// newer than the one before it.
func (l *ledger) now() int64 {
	t := l.clock()
	if t <= l.lastTS {
		t = l.lastTS + 1
	}
	l.lastTS = t
	return t
}

// batch is what one request brings: its deltas, admitted, and the deliveries they apply.
type batch struct {
	deltas  []*Stream
	applied []delivery
	// duplicates counts the points of deliveries applied before; like is any point
	// taken, whose resource and scope the ledger's own counters take.
	duplicates float64
	like       *Stream
}

// at is when the batch's deliveries are applied, journaled with them (0: none).
func (b *batch) at(now int64) int64 {
	if len(b.applied) == 0 {
		return 0
	}
	return now
}

// take removes the delta sums and delta histograms from md and returns them as deltas,
// with label values folded, points beyond MaxStreams counted instead, and the points of
// a delivery applied before counted as duplicates.
func (l *ledger) take(md pmetric.Metrics, now int64) *batch {
	b := &batch{}
	inBatch := map[delivery]struct{}{}
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		o := l.origin(rm.Resource().Attributes())
		duplicate := false
		if o.hasDelivery {
			_, again := inBatch[o.delivery]
			duplicate = again || l.state.deliveries.has(o.delivery)
			if !duplicate {
				inBatch[o.delivery] = struct{}{}
				b.applied = append(b.applied, o.delivery)
			}
		}
		resource := stringMap(rm.Resource().Attributes())
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			scope := sm.Scope().Name()
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				n := len(b.deltas)
				b.deltas = l.takeMetric(b.deltas, m, scope, resource, now, o)
				if len(b.deltas) > n && b.like == nil {
					b.like = b.deltas[n]
				}
				if duplicate {
					b.duplicates += float64(len(b.deltas) - n)
					b.deltas = b.deltas[:n]
				}
				return isDelta(m)
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
	b.deltas = l.admit(b, now)
	return b
}

// origin is where a resource's deltas came from.
type origin struct {
	delivery    delivery
	hasDelivery bool
	// producer identifies the producer (name and instance); name is its service name.
	producer string
	name     string
}

// origin reads the origin attributes of a resource and removes them: they must key no
// stream and reach no label.
func (l *ledger) origin(attrs pcommon.Map) origin {
	names := l.cfg.Origin
	var o origin
	if id, ok := pop(attrs, names.Delivery); ok {
		o.delivery, o.hasDelivery = parseDelivery(id)
	}
	o.name, _ = pop(attrs, names.Producer)
	instance, _ := pop(attrs, names.Instance)
	o.producer = o.name + "\x00" + instance
	return o
}

func pop(attrs pcommon.Map, key string) (string, bool) {
	if key == "" {
		return "", false
	}
	v, ok := attrs.Get(key)
	if !ok {
		return "", false
	}
	s := v.AsString()
	attrs.Remove(key)
	return s, true
}

func isDelta(m pmetric.Metric) bool {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta
	case pmetric.MetricTypeHistogram:
		return m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta
	}
	return false
}

// takeMetric appends m's points to deltas, if m is a delta sum or histogram.
func (l *ledger) takeMetric(deltas []*Stream, m pmetric.Metric, scope string, resource map[string]string, now int64, o origin) []*Stream {
	if !isDelta(m) {
		return deltas
	}
	base := Stream{
		Name: m.Name(), Description: m.Description(), Unit: m.Unit(), Scope: scope, Resource: resource,
		Start: now, Last: now, producer: o.producer, producerName: o.name,
	}
	if m.Type() == pmetric.MetricTypeSum {
		base.Kind, base.Monotonic = kindSum, m.Sum().IsMonotonic()
		dps := m.Sum().DataPoints()
		// One allocation for the metric's deltas, not one per point.
		ds := make([]Stream, dps.Len())
		for i := range ds {
			d := &ds[i]
			*d = base
			d.Attributes = stringMap(dps.At(i).Attributes())
			d.Sum = pdatautil.NumberValue(dps.At(i))
			deltas = append(deltas, d)
		}
		return deltas
	}
	base.Kind = kindHistogram
	dps := m.Histogram().DataPoints()
	ds := make([]Stream, dps.Len())
	for i := range ds {
		dp := dps.At(i)
		d := &ds[i]
		*d = base
		d.Attributes = stringMap(dp.Attributes())
		d.Bounds = dp.ExplicitBounds().AsRaw()
		d.Sum, d.Count, d.Buckets = dp.Sum(), dp.Count(), dp.BucketCounts().AsRaw()
		deltas = append(deltas, d)
	}
	return deltas
}

func stringMap(attrs pcommon.Map) map[string]string {
	out := make(map[string]string, attrs.Len())
	for k, v := range attrs.All() {
		out[k] = pdatautil.AsString(v)
	}
	return out
}
