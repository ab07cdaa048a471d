// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"strings"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ConsumeMetrics sums the usage and cost metrics of foreign producers into the fleet
// series, and counts every other point as unused. The library's own metrics (SkipPrefix)
// are agent_sums' and are passed over.
func (g *genai) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	b := g.newBatch()
	item := g.newItem()
	for _, rm := range md.ResourceMetrics().All() {
		res := rm.Resource().Attributes()
		o := g.origin(res)
		b.streams.resource(res)
		for _, sm := range rm.ScopeMetrics().All() {
			scope := sm.Scope().Name()
			for _, m := range sm.Metrics().All() {
				name := m.Name()
				switch {
				case g.cfg.SkipPrefix != "" && strings.HasPrefix(name, g.cfg.SkipPrefix):
				case g.usage[name] != nil && hasAnyPrefix(scope, g.spanUsage):
					b.unused(o, g.cfg.Unused.Signal, g.cfg.Unused.Reasons.CountedFromSpans, scope, pdatautil.PointCount(m))
				case g.usage[name] != nil && hasAnyPrefix(scope, g.logProducers):
					b.unused(o, g.cfg.Unused.Signal, g.cfg.Unused.Reasons.CountedFromLogs, scope, pdatautil.PointCount(m))
				case g.usage[name] != nil:
					g.usagePoints(b, o, item, res, scope, m, g.usage[name])
				case g.costs[name]:
					g.costPoints(b, o, item, res, scope, m)
				default:
					b.unused(o, g.cfg.Unused.Signal, g.cfg.Unused.Reasons.NotUsage, scope, pdatautil.PointCount(m))
				}
			}
		}
	}
	return g.flush(ctx, b)
}

// reading is one point's value, with what is needed to make it a delta.
type reading struct {
	attrs        pcommon.Map
	start, stamp pcommon.Timestamp
	value        float64
	count        uint64
}

// readings yields the points of m that have the shape u expects; counts the others. The
// slice is the batch's, valid until the next call.
func (g *genai) readings(b *batch, o origin, scope string, m pmetric.Metric, shape string) ([]reading, bool) {
	out := b.readings[:0]
	var temporality pmetric.AggregationTemporality
	switch {
	case shape == "sum" && m.Type() == pmetric.MetricTypeSum:
		for _, dp := range m.Sum().DataPoints().All() {
			out = append(out, reading{dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), pdatautil.NumberValue(dp), 0})
		}
		temporality = m.Sum().AggregationTemporality()
	case shape == "histogram" && m.Type() == pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			out = append(out, reading{dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Sum(), dp.Count()})
		}
		temporality = m.Histogram().AggregationTemporality()
	case shape == "histogram" && m.Type() == pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			out = append(out, reading{dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Sum(), dp.Count()})
		}
		temporality = m.ExponentialHistogram().AggregationTemporality()
	default:
		b.unused(o, g.cfg.Unused.Signal, g.cfg.Unused.Reasons.NotSummable, scope, pdatautil.PointCount(m))
		return nil, false
	}
	b.readings = out
	return out, temporality == pmetric.AggregationTemporalityCumulative
}

// delta is what a reading adds: itself for a delta point, the change since the stream's
// last point for a cumulative one. "" reason: use it.
func (g *genai) delta(r reading, cumulative bool, key func() []byte) (float64, string) {
	if bad := g.badValue(r.value); bad != "" {
		return 0, bad
	}
	if !cumulative {
		return r.value, ""
	}
	d, reason := g.state.delta(key(), r)
	if reason != "" {
		return 0, reason
	}
	// A ceiling applies to what a point adds, not to a running total.
	return d, g.badValue(d)
}

func (g *genai) usagePoints(b *batch, o origin, item []string, res pcommon.Map, scope string, m pmetric.Metric, u *usage) {
	points, cumulative := g.readings(b, o, scope, m, u.Shape)
	reasons := g.cfg.Unused.Reasons
	for _, r := range points {
		tokenType, known := u.types[pdatautil.GetString(r.attrs, u.TypeAttribute)]
		if !known {
			b.unused(o, g.cfg.Unused.Signal, reasons.UnknownTokenType, scope, 1)
			continue
		}
		tokens, reason := g.delta(r, cumulative, func() []byte { return b.streams.key(scope, m.Name(), r.attrs) })
		if reason != "" {
			b.unused(o, g.cfg.Unused.Signal, reason, scope, 1)
			continue
		}
		if tokens == 0 && cumulative {
			continue // a baseline, or nothing new since the last export
		}
		g.resolve(item, r.attrs, res)
		price, priced := 0.0, false
		if !u.ReportsCost {
			price, priced = g.price(r.attrs, res, item, tokenType, r.stamp)
		}
		g.emit(b, o, item, tokens, tokenType, price, priced, u.ReportsCost)
	}
}

// costPoints sums the cost a producer reports, as it is.
func (g *genai) costPoints(b *batch, o origin, item []string, res pcommon.Map, scope string, m pmetric.Metric) {
	points, cumulative := g.readings(b, o, scope, m, "sum")
	for _, r := range points {
		usd, reason := g.delta(r, cumulative, func() []byte { return b.streams.key(scope, m.Name(), r.attrs) })
		if reason != "" {
			b.unused(o, g.cfg.Unused.Signal, reason, scope, 1)
			continue
		}
		if usd == 0 && cumulative {
			continue
		}
		g.resolve(item, r.attrs, res)
		item[g.costSource] = g.cfg.Series.Reported
		g.addCost(b, o, item, usd)
	}
}
