// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

var (
	fleet   = pipeline.NewIDWithName(pipeline.SignalMetrics, "fleet")
	foreign = pipeline.NewIDWithName(pipeline.SignalMetrics, "foreign")
)

func testConfig() *Config {
	cfg := createDefaultConfig()
	cfg.Sums, cfg.Others = []pipeline.ID{fleet}, []pipeline.ID{foreign}
	cfg.Prefix = "hypertool."
	cfg.Resource = map[string]string{"hypertool.aggregation": "fleet"}
	cfg.Scope = "sums"
	cfg.MaxValue = 1000
	cfg.MaxLabelBytes = 8
	cfg.Counters = []Counter{
		{Metric: Metric{Name: "hypertool.tokens", Unit: "{token}"}, Labels: []string{"persona", "model"}},
		{Metric: Metric{Name: "hypertool.dropped"}, Labels: []string{"reason"}},
	}
	cfg.Rejected = Metric{Name: "hypertool.rejected"}
	cfg.Unused = Unused{
		Config: unused.Config{
			Name:        "hypertool.unused",
			SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
			Signal: "metrics", UnknownProducer: "unknown",
		},
		Reasons: Reasons{
			NotANumber: "not_a_number", Negative: "negative", TooLarge: "too_large",
			NotSummable: "not_summable", NotUsage: "not_usage",
		},
	}
	return cfg
}

type harness struct {
	conn    *agentSums
	fleet   *consumertest.MetricsSink
	foreign *consumertest.MetricsSink
}

func newHarness(t *testing.T, cfg *Config) harness {
	t.Helper()
	h := harness{fleet: new(consumertest.MetricsSink), foreign: new(consumertest.MetricsSink)}
	router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{fleet: h.fleet, foreign: h.foreign})
	conn, err := newConnector(cfg, router)
	if err != nil {
		t.Fatal(err)
	}
	h.conn = conn
	return h
}

// export builds one process's export: each metric is (name, temporality, points).
type pt struct {
	value float64
	attrs map[string]string
	int   bool
}

func export(process, scope string, metrics map[string][]pt, temporality pmetric.AggregationTemporality) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.instance.id", process)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	for name, points := range metrics {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		s := m.SetEmptySum()
		s.SetAggregationTemporality(temporality)
		for _, p := range points {
			dp := s.DataPoints().AppendEmpty()
			if p.int {
				dp.SetIntValue(int64(p.value))
			} else {
				dp.SetDoubleValue(p.value)
			}
			for k, v := range p.attrs {
				dp.Attributes().PutStr(k, v)
			}
		}
	}
	return md
}

// totals flattens what reached a sink: metric name and sorted labels -> summed value.
func totals(t *testing.T, sink *consumertest.MetricsSink) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			if got := rm.Resource().Attributes().AsRaw(); len(got) != 1 || got["hypertool.aggregation"] != "fleet" {
				t.Fatalf("resource %v, want only hypertool.aggregation=fleet", got)
			}
			for _, sm := range rm.ScopeMetrics().All() {
				if sm.Scope().Name() != "sums" {
					t.Fatalf("scope %q", sm.Scope().Name())
				}
				for _, m := range sm.Metrics().All() {
					if m.Sum().AggregationTemporality() != pmetric.AggregationTemporalityDelta || !m.Sum().IsMonotonic() {
						t.Fatalf("%s is not a monotonic delta sum", m.Name())
					}
					for _, dp := range m.Sum().DataPoints().All() {
						key := m.Name()
						for _, k := range []string{"persona", "model", "reason", "signal", "producer"} {
							if v, ok := dp.Attributes().Get(k); ok {
								key += " " + k + "=" + v.Str()
							}
						}
						out[key] += dp.DoubleValue()
					}
				}
			}
		}
	}
	return out
}

func TestSumsAcrossProcessesByTheCountersLabelsOnly(t *testing.T) {
	h := newHarness(t, testConfig())
	md := export("a", "hypertool_agent", map[string][]pt{"hypertool.tokens": {
		{value: 10, int: true, attrs: map[string]string{"persona": "be", "model": "m", "extra": "x"}},
		{value: 2.5, attrs: map[string]string{"persona": "be", "model": "m", "extra": "y"}},
	}}, pmetric.AggregationTemporalityDelta)
	export("b", "hypertool_agent", map[string][]pt{"hypertool.tokens": {
		{value: 7, int: true, attrs: map[string]string{"persona": "qa", "model": "m"}},
		{value: 1, int: true, attrs: map[string]string{"persona": "be", "model": "m"}},
	}}, pmetric.AggregationTemporalityDelta).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"hypertool.tokens persona=be model=m": 13.5, "hypertool.tokens persona=qa model=m": 7}
	assertTotals(t, totals(t, h.fleet), want)
	if n := len(h.foreign.AllMetrics()); n != 0 {
		t.Fatalf("%d exports reached the foreign pipeline, want 0", n)
	}
}

func TestCountsEveryPointItDoesNotSumByReason(t *testing.T) {
	h := newHarness(t, testConfig())
	md := export("a", "raw-sdk", map[string][]pt{
		"hypertool.tokens": {
			{value: math.NaN(), attrs: map[string]string{"persona": "be", "model": "m"}},
			{value: -1, int: true, attrs: map[string]string{"persona": "be", "model": "m"}},
			{value: 1001, attrs: map[string]string{"persona": "be", "model": "m"}},
			{value: 5, attrs: map[string]string{"persona": "be"}},
		},
		"hypertool.unknown": {{value: 1, attrs: nil}, {value: 2, attrs: nil}},
	}, pmetric.AggregationTemporalityDelta)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	u := "hypertool.unused reason=%s signal=metrics producer=raw-sdk"
	want := map[string]float64{
		fmt.Sprintf(u, "not_a_number"): 1,
		fmt.Sprintf(u, "negative"):     1,
		fmt.Sprintf(u, "too_large"):    1,
		fmt.Sprintf(u, "not_summable"): 1,
		fmt.Sprintf(u, "not_usage"):    2,
	}
	assertTotals(t, totals(t, h.fleet), want)
}

func TestCumulativePointsAreRejectedNotSummed(t *testing.T) {
	h := newHarness(t, testConfig())
	md := export("a", "", map[string][]pt{"hypertool.tokens": {
		{value: 4, attrs: map[string]string{"persona": "be", "model": "m"}},
		{value: 5, attrs: map[string]string{"persona": "be", "model": "m"}},
	}}, pmetric.AggregationTemporalityCumulative)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	assertTotals(t, totals(t, h.fleet), map[string]float64{"hypertool.rejected": 2})
}

func TestAGaugeOrHistogramOfACounterIsNotSummable(t *testing.T) {
	h := newHarness(t, testConfig())
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	g := sm.Metrics().AppendEmpty()
	g.SetName("hypertool.tokens")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	hist := sm.Metrics().AppendEmpty()
	hist.SetName("hypertool.tokens")
	hist.SetEmptyHistogram().DataPoints().AppendEmpty().SetSum(-2)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"hypertool.unused reason=not_summable signal=metrics producer=unknown": 1,
		"hypertool.unused reason=negative signal=metrics producer=unknown":     1,
	}
	assertTotals(t, totals(t, h.fleet), want)
}

func TestLabelValuesAreCutAtACharacterBoundary(t *testing.T) {
	h := newHarness(t, testConfig())
	// 7 ASCII bytes then a 2-byte character: the cut at 8 bytes would split it.
	md := export("a", "hypertool_agent", map[string][]pt{"hypertool.tokens": {
		{value: 1, attrs: map[string]string{"persona": "abcdefgé-long", "model": "m"}},
		{value: 2, attrs: map[string]string{"persona": "abcdefgé-other", "model": "m"}},
	}}, pmetric.AggregationTemporalityDelta)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	assertTotals(t, totals(t, h.fleet), map[string]float64{"hypertool.tokens persona=abcdefg model=m": 3})
}

func TestForeignMetricsGoOnUnchanged(t *testing.T) {
	h := newHarness(t, testConfig())
	md := export("a", "claude-code", map[string][]pt{
		"claude_code.token.usage": {{value: 9, attrs: map[string]string{"type": "input"}}},
		"hypertool.tokens":        {{value: 1, attrs: map[string]string{"persona": "be", "model": "m"}}},
	}, pmetric.AggregationTemporalityCumulative)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	got := h.foreign.AllMetrics()
	if len(got) != 1 || got[0].MetricCount() != 1 {
		t.Fatalf("foreign pipeline got %d exports, want 1 with 1 metric", len(got))
	}
	m := got[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	if m.Name() != "claude_code.token.usage" || m.Sum().DataPoints().At(0).DoubleValue() != 9 {
		t.Fatalf("foreign metric changed: %s", m.Name())
	}
	if id, _ := got[0].ResourceMetrics().At(0).Resource().Attributes().Get("service.instance.id"); id.Str() != "a" {
		t.Fatal("the foreign metric lost its resource")
	}
	assertTotals(t, totals(t, h.fleet), map[string]float64{"hypertool.rejected": 1})
}

func TestWithoutOthersForeignMetricsAreCounted(t *testing.T) {
	cfg := testConfig()
	cfg.Others = nil
	h := newHarness(t, cfg)
	md := export("a", "app", map[string][]pt{"http.requests": {{value: 1}, {value: 1}}}, pmetric.AggregationTemporalityDelta)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	assertTotals(t, totals(t, h.fleet), map[string]float64{"hypertool.unused reason=not_usage signal=metrics producer=app": 2})
}

func TestSkippingOthersLeavesForeignMetricsToTheConnectorBeside(t *testing.T) {
	cfg := testConfig()
	cfg.Others, cfg.SkipOthers = nil, true
	h := newHarness(t, cfg)
	md := export("a", "app", map[string][]pt{"http.requests": {{value: 1}}}, pmetric.AggregationTemporalityDelta)
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fleet.AllMetrics()); n != 0 {
		t.Errorf("a foreign point is neither summed nor counted here: %d batches", n)
	}
}

func TestAFailedSumIsReturnedAndOthersStillGetTheirs(t *testing.T) {
	failing := consumertest.NewErr(errors.New("journal full"))
	others := new(consumertest.MetricsSink)
	router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{fleet: failing, foreign: others})
	conn, err := newConnector(testConfig(), router)
	if err != nil {
		t.Fatal(err)
	}
	md := export("a", "x", map[string][]pt{
		"hypertool.tokens": {{value: 1, attrs: map[string]string{"persona": "be", "model": "m"}}},
		"gen_ai.usage":     {{value: 1}},
	}, pmetric.AggregationTemporalityDelta)
	if err := conn.ConsumeMetrics(context.Background(), md); err == nil || !strings.Contains(err.Error(), "journal full") {
		t.Fatalf("error %v, want the sums pipeline's", err)
	}
	if len(others.AllMetrics()) != 1 {
		t.Fatal("the foreign pipeline did not get its metrics")
	}
}

func TestConcurrentExportsSumExactly(t *testing.T) {
	h := newHarness(t, testConfig())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				md := export("p", "hypertool_agent", map[string][]pt{"hypertool.tokens": {
					{value: 3, int: true, attrs: map[string]string{"persona": "be", "model": "m"}},
				}}, pmetric.AggregationTemporalityDelta)
				if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assertTotals(t, totals(t, h.fleet), map[string]float64{"hypertool.tokens persona=be model=m": 8 * 200 * 3})
}

func TestConfigErrorsAreReportedTogether(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.MaxValue = math.NaN()
	cfg.Counters = []Counter{{Metric: Metric{Name: "a"}}, {Metric: Metric{Name: "a"}}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("an empty config validated")
	}
	for _, want := range []string{"sums", "prefix", "scope", "max_value", "listed twice", "rejected", "unused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Fatalf("the test config is invalid: %v", err)
	}
}

func TestAPipelineNotConnectedIsAnErrorAtCreation(t *testing.T) {
	router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{fleet: new(consumertest.MetricsSink)})
	if _, err := newConnector(testConfig(), router); err == nil || !strings.Contains(err.Error(), "others") {
		t.Fatalf("error %v, want one about others", err)
	}
}

func assertTotals(t *testing.T, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func originConfig() *Config {
	cfg := testConfig()
	cfg.Origin = Origin{
		DeliveryFrom: "hypertool.delivery.id", ProducerFrom: "service.name", InstanceFrom: "service.instance.id",
		Delivery: "l.delivery", Producer: "l.producer", Instance: "l.instance",
	}
	return cfg
}

// withOrigin sets the delivery id and service name of every resource of md.
func withOrigin(md pmetric.Metrics, delivery, service string) pmetric.Metrics {
	for _, rm := range md.ResourceMetrics().All() {
		if delivery != "" {
			rm.Resource().Attributes().PutStr("hypertool.delivery.id", delivery)
		}
		rm.Resource().Attributes().PutStr("service.name", service)
	}
	return md
}

// byOrigin is each output resource's attributes and its summed tokens.
func byOrigin(sink *consumertest.MetricsSink) map[string]float64 {
	out := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			a := rm.Resource().Attributes().AsRaw()
			key := fmt.Sprintf("%v|%v|%v|%v", a["hypertool.aggregation"], a["l.delivery"], a["l.producer"], a["l.instance"])
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					for _, dp := range m.Sum().DataPoints().All() {
						out[key] += dp.DoubleValue()
					}
				}
			}
		}
	}
	return out
}

func TestEachOriginIsSummedApartAndNamed(t *testing.T) {
	// Two exports in one request stay apart by delivery and producer; no resource
	// attribute but the fleet's and the origin's reaches the ledger.
	h := newHarness(t, originConfig())
	tokens := func(v float64) map[string][]pt {
		return map[string][]pt{"hypertool.tokens": {{value: v, attrs: map[string]string{"persona": "be", "model": "m"}}}}
	}
	md := withOrigin(export("p1", "hypertool_agent", tokens(3), pmetric.AggregationTemporalityDelta), "p1:1", "svc")
	withOrigin(export("p1", "hypertool_agent", tokens(4), pmetric.AggregationTemporalityDelta), "p1:2", "svc").
		ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	withOrigin(export("p2", "hypertool_agent", tokens(5), pmetric.AggregationTemporalityDelta), "", "svc").
		ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	withOrigin(export("p2", "hypertool_agent", tokens(6), pmetric.AggregationTemporalityDelta), "", "svc").
		ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"fleet|p1:1|svc|p1": 3, "fleet|p1:2|svc|p1": 4, "fleet|<nil>|svc|p2": 11}
	got := byOrigin(h.fleet)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if n := h.fleet.AllMetrics()[0].ResourceMetrics().Len(); n != 3 {
		t.Fatalf("%d resources, want 3", n)
	}
}

func TestTheDeliveryIdDoesNotReachForeignPipelines(t *testing.T) {
	// It changes with every export: a cumulative stream keyed by it would be new each time.
	h := newHarness(t, originConfig())
	md := withOrigin(export("p1", "openllmetry", map[string][]pt{"gen_ai.client.token.usage": {{value: 1}}},
		pmetric.AggregationTemporalityCumulative), "p1:1", "svc")
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	got := h.foreign.AllMetrics()[0].ResourceMetrics().At(0).Resource().Attributes().AsRaw()
	if _, ok := got["hypertool.delivery.id"]; ok || got["service.name"] != "svc" || got["service.instance.id"] != "p1" {
		t.Fatalf("foreign resource %v, want the producer's without the delivery id", got)
	}
}
