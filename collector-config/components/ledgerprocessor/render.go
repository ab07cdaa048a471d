// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// render turns streams into cumulative points stamped with the ledger's clock, grouped by
// resource and scope.
func (l *ledger) render(streams []*Stream) pmetric.Metrics {
	md := pmetric.NewMetrics()
	now := pcommon.Timestamp(l.now())
	scopes := map[string]pmetric.MetricSlice{}
	resources := map[string]pmetric.ResourceMetrics{}
	for _, s := range streams {
		rk, sk := l.state.keyer.resource(s)
		rm, ok := resources[string(rk)]
		if !ok {
			rm = md.ResourceMetrics().AppendEmpty()
			for k, v := range s.Resource {
				rm.Resource().Attributes().PutStr(k, v)
			}
			resources[string(rk)] = rm
		}
		metrics, ok := scopes[string(sk)]
		if !ok {
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(s.Scope)
			metrics = sm.Metrics()
			scopes[string(sk)] = metrics
		}
		renderStream(metrics.AppendEmpty(), s, now)
	}
	return md
}

func renderStream(m pmetric.Metric, s *Stream, now pcommon.Timestamp) {
	m.SetName(s.Name)
	m.SetDescription(s.Description)
	m.SetUnit(s.Unit)
	start := pcommon.Timestamp(s.Start)
	if s.Kind == kindHistogram {
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := h.DataPoints().AppendEmpty()
		putAttributes(dp.Attributes(), s.Attributes)
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(now)
		dp.ExplicitBounds().FromRaw(s.Bounds)
		dp.BucketCounts().FromRaw(s.Buckets)
		dp.SetCount(s.Count)
		dp.SetSum(s.Sum)
		return
	}
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sum.SetIsMonotonic(s.Monotonic)
	dp := sum.DataPoints().AppendEmpty()
	putAttributes(dp.Attributes(), s.Attributes)
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(now)
	dp.SetDoubleValue(s.Sum)
}

func putAttributes(dst pcommon.Map, attrs map[string]string) {
	dst.EnsureCapacity(len(attrs))
	for k, v := range attrs {
		dst.PutStr(k, v)
	}
}
