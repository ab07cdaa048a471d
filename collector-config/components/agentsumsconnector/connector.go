// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/hypertool-observability/hypertool/collector/agentsumsconnector/internal/metadata"
	"github.com/hypertool-observability/hypertool/collector/genaiprices"
	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

type agentSums struct {
	component.ShutdownFunc

	cfg      *Config
	counters map[string]int // name -> index in cfg.Counters
	sums     consumer.Metrics
	others   consumer.Metrics // nil: foreign metrics are counted as not used
	book     *genaiprices.Book
	priced   pricedCounters // indexes into cfg.Counters, looked up once
}

func newConnector(cfg *Config, router connector.MetricsRouterAndConsumer) (*agentSums, error) {
	sums, err := router.Consumer(cfg.Sums...)
	if err != nil {
		return nil, fmt.Errorf("%s: sums: %w", metadata.Type, err)
	}
	c := &agentSums{cfg: cfg, sums: sums, counters: make(map[string]int, len(cfg.Counters))}
	if len(cfg.Others) > 0 {
		if c.others, err = router.Consumer(cfg.Others...); err != nil {
			return nil, fmt.Errorf("%s: others: %w", metadata.Type, err)
		}
	}
	for i, counter := range cfg.Counters {
		c.counters[counter.Name] = i
	}
	c.priced = pricedCounters{c.counters[cfg.Prices.Tokens], c.counters[cfg.Prices.Cost], c.counters[cfg.Prices.Unpriced]}
	return c, nil
}

// Capabilities: the library's metrics are taken out of what goes on to Others.
func (c *agentSums) Capabilities() consumer.Capabilities {
	// Only what goes on to Others is changed (the library's metrics taken out). Without
	// Others it reads the export as it is: the collector then hands one export to this
	// connector and to the genai connector beside it without copying it.
	return consumer.Capabilities{MutatesData: c.others != nil}
}

// ConsumeMetrics sums and counts the library's metrics of md and hands the result to
// Sums, and the rest of md to Others. Both are called even if one fails; the errors are
// returned together, so the sender retries, as with any fan-out.
func (c *agentSums) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if c.others == nil {
		return c.sum(ctx, md)
	}
	tallies := map[origin]*tally{}
	var order []*tally
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		attrs := rm.Resource().Attributes()
		t := c.tallyOf(tallies, &order, attrs)
		// The delivery id is new on every export: passed on, it would make each one a
		// stream of its own downstream.
		attrs.Remove(c.cfg.Origin.DeliveryFrom)
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			producer := sm.Scope().Name()
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				if strings.HasPrefix(m.Name(), c.cfg.Prefix) {
					t.metric(m, producer)
					return true
				}
				return false
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
	err := c.emit(ctx, order)
	if md.ResourceMetrics().Len() > 0 {
		err = errors.Join(err, c.others.ConsumeMetrics(ctx, md))
	}
	return err
}

// sum reads md without changing it: the library's metrics are summed, every other one
// is counted as not used, or left to the connector beside this one (SkipOthers).
func (c *agentSums) sum(ctx context.Context, md pmetric.Metrics) error {
	tallies := map[origin]*tally{}
	var order []*tally
	for _, rm := range md.ResourceMetrics().All() {
		t := c.tallyOf(tallies, &order, rm.Resource().Attributes())
		for _, sm := range rm.ScopeMetrics().All() {
			producer := sm.Scope().Name()
			for _, m := range sm.Metrics().All() {
				switch {
				case strings.HasPrefix(m.Name(), c.cfg.Prefix):
					t.metric(m, producer)
				case !c.cfg.SkipOthers:
					t.points(m, producer, c.cfg.Unused.Reasons.NotUsage)
				}
			}
		}
	}
	return c.emit(ctx, order)
}

func (c *agentSums) tallyOf(tallies map[origin]*tally, order *[]*tally, attrs pcommon.Map) *tally {
	o := c.origin(attrs)
	t, ok := tallies[o]
	if !ok {
		t = newTally(c, o)
		tallies[o] = t
		*order = append(*order, t)
	}
	return t
}

// emit hands the tallies' sums and counts to Sums.
func (c *agentSums) emit(ctx context.Context, order []*tally) error {
	out := pmetric.NewMetrics()
	for _, t := range order {
		t.appendTo(out)
	}
	if out.ResourceMetrics().Len() == 0 {
		return nil
	}
	return c.sums.ConsumeMetrics(ctx, out)
}

// origin is which export, of which producer, a resource's sums came from.
type origin struct {
	delivery, producer, instance string
}

// origin reads a resource's origin.
func (c *agentSums) origin(attrs pcommon.Map) origin {
	o := c.cfg.Origin
	var out origin
	out.delivery = pdatautil.GetString(attrs, o.DeliveryFrom)
	out.producer = pdatautil.GetString(attrs, o.ProducerFrom)
	out.instance = pdatautil.GetString(attrs, o.InstanceFrom)
	return out
}

// tally is the sums and counts of one origin in one request.
type tally struct {
	c        *agentSums
	origin   origin
	sums     map[string]*sum // by counter index and label values
	order    []*sum
	unused   *unused.Counts
	rejected float64
	key      []byte
	values   []string
}

type sum struct {
	counter int
	values  []string
	value   float64
}

func newTally(c *agentSums, o origin) *tally {
	return &tally{c: c, origin: o, sums: map[string]*sum{}, unused: unused.NewCounts(&c.cfg.Unused.Config)}
}

// metric adds up or counts each point of one of the library's metrics.
func (t *tally) metric(m pmetric.Metric, producer string) {
	reasons := t.c.cfg.Unused.Reasons
	counter, isCounter := t.c.counters[m.Name()]
	wrongShape := reasons.NotUsage
	if isCounter {
		wrongShape = reasons.NotSummable
	}
	switch m.Type() {
	case pmetric.MetricTypeSum:
		delta := m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			value := pdatautil.NumberValue(dp)
			switch bad := t.badValue(value); {
			case bad != "":
				t.count(bad, producer)
			case !delta:
				t.rejected++
			case !isCounter:
				t.count(reasons.NotUsage, producer)
			default:
				if t.add(counter, dp.Attributes(), value, producer) {
					t.price(counter, dp, value)
				}
			}
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			t.countHistogram(dps.At(i).Sum(), producer, wrongShape)
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			t.countHistogram(dps.At(i).Sum(), producer, wrongShape)
		}
	default:
		t.points(m, producer, wrongShape)
	}
}

// countHistogram counts a histogram point: none of the library's counters is one.
func (t *tally) countHistogram(sum float64, producer, wrongShape string) {
	if bad := t.badValue(sum); bad != "" {
		t.count(bad, producer)
		return
	}
	t.count(wrongShape, producer)
}

// points counts every point of m as not used, for reason.
func (t *tally) points(m pmetric.Metric, producer, reason string) {
	t.unused.Add(reason, t.producer(producer), float64(pdatautil.PointCount(m)))
}

// badValue is the reason a value cannot be summed, or "": no agent sends these.
func (t *tally) badValue(v float64) string {
	r := t.c.cfg.Unused.Reasons
	return unused.BadValue(v, t.c.cfg.MaxValue, r.NotANumber, r.Negative, r.TooLarge)
}

// add sums value into its counter's stream, keyed by the counter's labels only; false
// if the point lacks one of them (counted).
func (t *tally) add(counter int, attrs pcommon.Map, value float64, producer string) bool {
	t.values = t.values[:0]
	for _, label := range t.c.cfg.Counters[counter].Labels {
		v, ok := attrs.Get(label)
		if !ok {
			t.count(t.c.cfg.Unused.Reasons.NotSummable, producer)
			return false
		}
		t.values = append(t.values, t.label(v))
	}
	t.addValues(counter, t.values, value)
	return true
}

// addValues sums value into the stream of counter with these label values.
func (t *tally) addValues(counter int, values []string, value float64) {
	t.key = strconv.AppendInt(t.key[:0], int64(counter), 10)
	for _, s := range values {
		t.key = append(append(t.key, 0), s...)
	}
	if s, ok := t.sums[string(t.key)]; ok {
		s.value += value
		return
	}
	s := &sum{counter: counter, values: append([]string(nil), values...), value: value}
	t.sums[string(t.key)] = s
	t.order = append(t.order, s)
}

func (t *tally) count(reason, producer string) {
	t.unused.Add(reason, t.producer(producer), 1)
}

// producer is the producer label's value of a scope name: cut, "" for unknown.
func (t *tally) producer(scope string) string {
	return pdatautil.CutUTF8(scope, t.c.cfg.MaxLabelBytes)
}

// label is an attribute value as a label value, cut as the agent cuts it.
func (t *tally) label(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return pdatautil.CutUTF8(v.Str(), t.c.cfg.MaxLabelBytes)
	}
	return v.AsString()
}

// appendTo renders the tally, if not empty, as delta sums in the fleet resource, with
// their origin.
func (t *tally) appendTo(out pmetric.Metrics) {
	if len(t.order) == 0 && t.unused.Len() == 0 && t.rejected == 0 {
		return
	}
	cfg := t.c.cfg
	rm := out.ResourceMetrics().AppendEmpty()
	for k, v := range cfg.Resource {
		rm.Resource().Attributes().PutStr(k, v)
	}
	t.putOrigin(rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(cfg.Scope)
	now := pcommon.NewTimestampFromTime(time.Now())
	byCounter := map[int]pmetric.NumberDataPointSlice{}
	for _, s := range t.order {
		dps, ok := byCounter[s.counter]
		if !ok {
			dps = appendSum(sm, cfg.Counters[s.counter].Metric)
			byCounter[s.counter] = dps
		}
		dp := point(dps, s.value, now)
		for i, label := range cfg.Counters[s.counter].Labels {
			dp.Attributes().PutStr(label, s.values[i])
		}
	}
	if t.rejected > 0 {
		point(appendSum(sm, cfg.Rejected), t.rejected, now)
	}
	t.unused.AppendTo(sm, now)
}

func (t *tally) putOrigin(attrs pcommon.Map) {
	o := t.c.cfg.Origin
	for _, kv := range [][2]string{{o.Delivery, t.origin.delivery}, {o.Producer, t.origin.producer}, {o.Instance, t.origin.instance}} {
		if kv[0] != "" && kv[1] != "" {
			attrs.PutStr(kv[0], kv[1])
		}
	}
}

func appendSum(sm pmetric.ScopeMetrics, names Metric) pmetric.NumberDataPointSlice {
	m := sm.Metrics().AppendEmpty()
	m.SetName(names.Name)
	m.SetDescription(names.Description)
	m.SetUnit(names.Unit)
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	s.SetIsMonotonic(true)
	return s.DataPoints()
}

func point(dps pmetric.NumberDataPointSlice, value float64, now pcommon.Timestamp) pmetric.NumberDataPoint {
	dp := dps.AppendEmpty()
	dp.SetDoubleValue(value)
	dp.SetTimestamp(now)
	return dp
}
