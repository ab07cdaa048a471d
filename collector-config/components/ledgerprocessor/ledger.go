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
}

func newLedger(cfg *Config, logger *zap.Logger, next consumer.Metrics) *ledger {
	return &ledger{cfg: cfg, logger: logger, next: next}
}

func (l *ledger) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start loads the totals, compacts them into a fresh snapshot and hands every stream to
// the exporter, so that series come back with their totals right after a restart.
func (l *ledger) Start(ctx context.Context, _ component.Host) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, st, torn, err := openStore(l.cfg.Directory, l.cfg.Fsync)
	if err != nil {
		return err
	}
	if torn > 0 {
		l.logger.Warn("ledger: skipped torn journal lines (appends interrupted by a crash, never acknowledged)", zap.Int("lines", torn))
	}
	expired := st.expire(time.Now().Add(-l.cfg.MaxStale).UnixNano())
	if err := s.compact(st); err != nil {
		s.close()
		return err
	}
	l.store, l.state = s, st
	l.logger.Info("ledger: totals loaded", zap.String("directory", l.cfg.Directory),
		zap.Int("streams", len(st.streams)), zap.Int("expired", expired))
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
// is returned, so the sender retries.
func (l *ledger) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return fmt.Errorf("ledger is not started")
	}
	now := l.now()
	deltas := l.take(md, now)
	out := pmetric.NewMetrics()
	if len(deltas) > 0 {
		if err := l.store.append(deltas); err != nil {
			return err
		}
		// apply returns each stream's one *Stream, so the pointer tells streams apart.
		touched := map[*Stream]struct{}{}
		updated := make([]*Stream, 0, len(deltas))
		for _, d := range deltas {
			s := l.state.apply(d)
			if _, ok := touched[s]; !ok {
				touched[s] = struct{}{}
				updated = append(updated, s)
			}
		}
		out = l.render(updated)
		if l.store.size > l.cfg.CompactBytes {
			l.compact(now)
		}
	}
	md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	if out.ResourceMetrics().Len() == 0 {
		return nil
	}
	return l.next.ConsumeMetrics(ctx, out)
}

// compact folds the journal into a snapshot; failing that, the journal keeps growing and
// the next append retries.
func (l *ledger) compact(now int64) {
	l.state.expire(now - l.cfg.MaxStale.Nanoseconds())
	if err := l.store.compact(l.state); err != nil {
		l.logger.Error("ledger: compaction failed", zap.Error(err))
	}
}

// now is a clock that never repeats or steps back, so each total handed downstream is
// newer than the one before it.
func (l *ledger) now() int64 {
	t := time.Now().UnixNano()
	if t <= l.lastTS {
		t = l.lastTS + 1
	}
	l.lastTS = t
	return t
}

// take removes the delta sums and delta histograms from md and returns them as deltas,
// with label values folded and points beyond MaxStreams counted instead.
func (l *ledger) take(md pmetric.Metrics, now int64) []*Stream {
	var deltas []*Stream
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		resource := stringMap(rm.Resource().Attributes())
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			scope := sm.Scope().Name()
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				taken := l.takeMetric(m, scope, resource, now)
				deltas = append(deltas, taken...)
				return isDelta(m)
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
	return l.admit(deltas, now)
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

func (l *ledger) takeMetric(m pmetric.Metric, scope string, resource map[string]string, now int64) []*Stream {
	if !isDelta(m) {
		return nil
	}
	base := Stream{Name: m.Name(), Description: m.Description(), Unit: m.Unit(), Scope: scope, Resource: resource, Start: now, Last: now}
	var out []*Stream
	if m.Type() == pmetric.MetricTypeSum {
		base.Kind, base.Monotonic = kindSum, m.Sum().IsMonotonic()
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			d := base
			d.Attributes = stringMap(dps.At(i).Attributes())
			d.Sum = numberValue(dps.At(i))
			out = append(out, &d)
		}
		return out
	}
	base.Kind = kindHistogram
	dps := m.Histogram().DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		d := base
		d.Attributes = stringMap(dp.Attributes())
		d.Bounds = dp.ExplicitBounds().AsRaw()
		d.Sum, d.Count, d.Buckets = dp.Sum(), dp.Count(), dp.BucketCounts().AsRaw()
		out = append(out, &d)
	}
	return out
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func stringMap(attrs pcommon.Map) map[string]string {
	out := make(map[string]string, attrs.Len())
	for k, v := range attrs.All() {
		out[k] = v.AsString()
	}
	return out
}
