// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// fakeBook prices gpt-4o-mini at 0.15 (input) and 0.6 (output) USD per million tokens.
type fakeBook struct{}

func (fakeBook) price(_, model string, output bool, _ pcommon.Timestamp) (float64, bool) {
	if strings.ToLower(model) != "gpt-4o-mini" {
		return 0, false
	}
	if !output {
		return 0.15, true
	}
	return 0.6, true
}

func testConfig() *Config {
	cfg := createDefaultConfig()
	cfg.SkipPrefix = "hypertool."
	cfg.Resource = map[string]string{"hypertool.aggregation": "fleet"}
	cfg.Scope = "fleet-scope"
	cfg.Origin = Origin{ProducerFrom: "service.name", InstanceFrom: "service.instance.id", Producer: "hypertool.ledger.producer", Instance: "hypertool.ledger.instance"}
	cfg.Labels = map[string][]string{
		"persona":  {"point:gen_ai.agent.name", "point:hypertool.persona.name", "resource:hypertool.persona.name", "resource:service.name"},
		"chatmode": {"point:hypertool.persona.chatmode", "resource:hypertool.persona.chatmode", "value:unknown"},
		"workflow": {"point:hypertool.workflow.name", "resource:hypertool.workflow.name"},
		"model":    {"point:model", "point:gen_ai.response.model", "point:gen_ai.request.model", "point:llm.model_name", "value:unknown"},
	}
	cfg.Usage = []UsageMetric{
		{Name: "claude_code.token.usage", Shape: "sum", TypeAttribute: "type", InputTypes: []string{"input", "cacheRead", "cacheCreation"}, OutputTypes: []string{"output"}, ReportsCost: true},
		{Name: "gen_ai.client.token.usage", Shape: "histogram", TypeAttribute: "gen_ai.token.type", InputTypes: []string{"input"}, OutputTypes: []string{"output"}},
	}
	cfg.Costs = []CostMetric{{Name: "claude_code.cost.usage"}}
	cfg.SpanUsage = SpanUsage{Producers: []string{"openinference.instrumentation."}, Input: []string{"gen_ai.usage.input_tokens", "llm.token_count.prompt"}, Output: []string{"gen_ai.usage.output_tokens", "llm.token_count.completion"}}
	cfg.Handoff = Handoff{OperationAttribute: "gen_ai.operation.name", Operation: "agent_handoff", From: "gen_ai.handoff.from_agent", To: "gen_ai.handoff.to_agent", NoFrom: "none"}
	cfg.SpanSeries = SpanSeries{TypeAttribute: "hypertool.span.type", Buckets: []float64{0.5, 1, 5}, Series: []SpanEntry{
		{Metric: Metric{Name: "hypertool.workflow.stage.duration", Unit: "s"}, SpanType: "stage", Kind: "histogram", Labels: map[string]string{"workflow": "hypertool.workflow.name", "stage": "hypertool.stage.name"}},
		{Metric: Metric{Name: "hypertool.workflow.runs"}, SpanType: "workflow", Kind: "counter", Labels: map[string]string{"workflow": "hypertool.workflow.name", "result": "hypertool.workflow.result"}},
	}}
	cfg.Series = Series{
		Tokens:         Sum{Metric: Metric{Name: "tokens"}, Labels: []string{"persona", "chatmode", "model"}},
		WorkflowTokens: Sum{Metric: Metric{Name: "workflow_tokens"}, Labels: []string{"workflow", "persona", "model"}},
		TokensByType:   Sum{Metric: Metric{Name: "llm_tokens"}, Labels: []string{"persona", "model", "token_type"}},
		Cost:           Sum{Metric: Metric{Name: "cost"}, Labels: []string{"persona", "model", "cost_source"}},
		Unpriced:       Sum{Metric: Metric{Name: "unpriced"}, Labels: []string{"persona", "model"}},
		Switches:       Sum{Metric: Metric{Name: "switches"}, Labels: []string{"from_persona", "to_persona", "chatmode"}},
		TokenType:      "token_type", CostSource: "cost_source", From: "from_persona", To: "to_persona", Model: "model",
		Input: "input", Output: "output", Reported: "reported", Estimated: "estimated",
	}
	cfg.Unused = Unused{Config: unused.Config{Name: "unused", SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer", Signal: "metrics", UnknownProducer: "unknown"}, Traces: "traces", Logs: "logs", Reasons: Reasons{
		NotANumber: "not_a_number", Negative: "negative", TooLarge: "too_large", NotSummable: "not_summable", NotUsage: "not_usage",
		UnknownTokenType: "unknown_token_type", SpanUsageIgnored: "span_usage_ignored", TracesOnly: "traces_only", NotKept: "not_kept",
		OutOfOrder: "out_of_order", TooManyStreams: "too_many_streams", MissingLabel: "missing_label", CountedFromSpans: "counted_from_spans", CountedFromLogs: "counted_from_logs",
	}}
	return cfg
}

func started(t testing.TB, cfg *Config) (*genai, *consumertest.MetricsSink) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := &consumertest.MetricsSink{}
	g := newGenai(cfg, zap.NewNop(), sink)
	if err := g.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	g.book = fakeBook{}
	return g, sink
}

// totals flattens everything the connector wrote into "name{k=v,...}" -> value (a
// histogram's sum, and its count as "name_count{...}").
func totals(sink *consumertest.MetricsSink) map[string]float64 {
	out := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					switch m.Type() {
					case pmetric.MetricTypeSum:
						for _, dp := range m.Sum().DataPoints().All() {
							out[m.Name()+labels(dp.Attributes())] += dp.DoubleValue()
						}
					case pmetric.MetricTypeHistogram:
						for _, dp := range m.Histogram().DataPoints().All() {
							out[m.Name()+labels(dp.Attributes())] += dp.Sum()
							out[m.Name()+"_count"+labels(dp.Attributes())] += float64(dp.Count())
							out[m.Name()+"_buckets"+labels(dp.Attributes())] = 0
							for i, n := range dp.BucketCounts().All() {
								out[fmt.Sprintf("%s_bucket%d%s", m.Name(), i, labels(dp.Attributes()))] += float64(n)
							}
						}
					}
				}
			}
		}
	}
	return out
}

func labels(attrs pcommon.Map) string {
	var kv []string
	for k, v := range attrs.All() {
		kv = append(kv, k+"="+v.AsString())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func expect(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func claudeExport(temporality pmetric.AggregationTemporality, start, stamp time.Time, input, output, cost float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "claude-code")
	rm.Resource().Attributes().PutStr("hypertool.persona.name", "backend-engineer")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("com.anthropic.claude_code")
	m := sm.Metrics().AppendEmpty()
	m.SetName("claude_code.token.usage")
	s := m.SetEmptySum()
	s.SetAggregationTemporality(temporality)
	s.SetIsMonotonic(true)
	for typ, v := range map[string]float64{"input": input, "output": output} {
		dp := s.DataPoints().AppendEmpty()
		dp.SetDoubleValue(v)
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(stamp))
		dp.Attributes().PutStr("type", typ)
		dp.Attributes().PutStr("model", "claude-sonnet-4-5")
	}
	c := sm.Metrics().AppendEmpty()
	c.SetName("claude_code.cost.usage")
	cs := c.SetEmptySum()
	cs.SetAggregationTemporality(temporality)
	dp := cs.DataPoints().AppendEmpty()
	dp.SetDoubleValue(cost)
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(stamp))
	dp.Attributes().PutStr("model", "claude-sonnet-4-5")
	return md
}

func TestClaudeCodeDeltasAreSummedWithTheirReportedCost(t *testing.T) {
	g, sink := started(t, testConfig())
	now := time.Now()
	for i := 0; i < 2; i++ {
		if err := g.ConsumeMetrics(context.Background(), claudeExport(pmetric.AggregationTemporalityDelta, now, now, 100, 20, 0.5)); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=claude-sonnet-4-5,persona=backend-engineer}":     240,
		"llm_tokens{model=claude-sonnet-4-5,persona=backend-engineer,token_type=input}": 200,
		"cost{cost_source=reported,model=claude-sonnet-4-5,persona=backend-engineer}":   1.0,
	})
	if _, ok := totals(sink)["unpriced{model=claude-sonnet-4-5,persona=backend-engineer}"]; ok {
		t.Error("a producer that reports its cost is not estimated, nor unpriced")
	}
	rm := sink.AllMetrics()[0].ResourceMetrics().At(0)
	if v, _ := rm.Resource().Attributes().Get("hypertool.ledger.producer"); v.Str() != "claude-code" {
		t.Errorf("origin producer = %q", v.Str())
	}
	if rm.ScopeMetrics().At(0).Scope().Name() != "fleet-scope" {
		t.Error("the sums carry the fleet scope")
	}
}

func TestCumulativeUsageCountsEachTokenOnce(t *testing.T) {
	g, sink := started(t, testConfig())
	before, after := time.Now().Add(-time.Hour), time.Now().Add(time.Second)
	send := func(start time.Time, stamp time.Duration, in, out, cost float64) {
		t.Helper()
		md := claudeExport(pmetric.AggregationTemporalityCumulative, start, after.Add(stamp), in, out, cost)
		if err := g.ConsumeMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	send(after, 0, 10, 1, 0.1)               // started after the collector: counts in full
	send(after, time.Second, 30, 3, 0.3)     // +20, +2
	send(after, time.Second, 30, 3, 0.3)     // the same point again
	send(after, 2*time.Second, 5, 1, 0.05)   // the total went down: a restart, counts in full
	send(before, 3*time.Second, 50, 50, 0.9) // a new start time: a restart as well
	got := totals(sink)
	expect(t, got, map[string]float64{
		"tokens{chatmode=unknown,model=claude-sonnet-4-5,persona=backend-engineer}":   33 + 6 + 100,
		"cost{cost_source=reported,model=claude-sonnet-4-5,persona=backend-engineer}": 0.3 + 0.05 + 0.9,
	})
}

func TestCumulativeStreamsFromBeforeTheCollectorStartAreABaseline(t *testing.T) {
	g, sink := started(t, testConfig())
	before := time.Now().Add(-time.Hour)
	for i, in := range []float64{1000, 1010} {
		md := claudeExport(pmetric.AggregationTemporalityCumulative, before, time.Now().Add(time.Duration(i)*time.Second), in, 0, 0)
		if err := g.ConsumeMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=claude-sonnet-4-5,persona=backend-engineer}": 10})
}

func genaiHistogram(model, tokenType string, sum float64, extra map[string]string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chat-app")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	m := sm.Metrics().AppendEmpty()
	m.SetName("gen_ai.client.token.usage")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetSum(sum)
	dp.SetCount(1)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.Attributes().PutStr("gen_ai.response.model", model)
	dp.Attributes().PutStr("gen_ai.token.type", tokenType)
	for k, v := range extra {
		dp.Attributes().PutStr(k, v)
	}
	return md
}

func TestGenAIUsageIsPricedOrCountedUnpriced(t *testing.T) {
	g, sink := started(t, testConfig())
	for _, md := range []pmetric.Metrics{
		genaiHistogram("gpt-4o-mini", "input", 1000, map[string]string{"hypertool.workflow.name": "release"}),
		genaiHistogram("gpt-4o-mini", "output", 200, nil),
		genaiHistogram("house-model", "input", 7, nil),
		genaiHistogram("gpt-4o-mini", "reasoning", 5, nil),
	} {
		if err := g.ConsumeMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=chat-app}":                                       1200,
		"workflow_tokens{model=gpt-4o-mini,persona=chat-app,workflow=release}":                              1000,
		"cost{cost_source=estimated,model=gpt-4o-mini,persona=chat-app}":                                    (1000*0.15 + 200*0.6) / 1e6,
		"unpriced{model=house-model,persona=chat-app}":                                                      7,
		"unused{producer=opentelemetry.instrumentation.openai_v2,reason=unknown_token_type,signal=metrics}": 1,
	})
}

func TestPointsNoProducerSendsAreCountedByReason(t *testing.T) {
	g, sink := started(t, testConfig())
	for _, v := range []float64{-1, math.NaN(), 5e8} {
		if err := g.ConsumeMetrics(context.Background(), genaiHistogram("gpt-4o-mini", "input", v, nil)); err != nil {
			t.Fatal(err)
		}
	}
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	gauge := sm.Metrics().AppendEmpty()
	gauge.SetName("gen_ai.client.token.usage")
	gauge.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	other := sm.Metrics().AppendEmpty()
	other.SetName("process.cpu.time")
	other.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(3)
	ours := sm.Metrics().AppendEmpty()
	ours.SetName("hypertool.persona.tokens_used")
	ours.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(3)
	if err := g.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	got := totals(sink)
	expect(t, got, map[string]float64{
		"unused{producer=opentelemetry.instrumentation.openai_v2,reason=negative,signal=metrics}":     1,
		"unused{producer=opentelemetry.instrumentation.openai_v2,reason=not_a_number,signal=metrics}": 1,
		"unused{producer=opentelemetry.instrumentation.openai_v2,reason=too_large,signal=metrics}":    1,
		"unused{producer=unknown,reason=not_summable,signal=metrics}":                                 1,
		"unused{producer=unknown,reason=not_usage,signal=metrics}":                                    1,
	})
	if len(got) != 5 {
		t.Errorf("the library's own point is agent_sums', not counted here: %v", got)
	}
}

func spans(scope string, resource map[string]string, each ...map[string]any) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	for k, v := range resource {
		rs.Resource().Attributes().PutStr(k, v)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(scope)
	start := time.Now()
	for _, attrs := range each {
		s := ss.Spans().AppendEmpty()
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(750 * time.Millisecond)))
		if err := s.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
	}
	return td
}

func TestSpanUsageOfSpanOnlyProducersCounts(t *testing.T) {
	g, sink := started(t, testConfig())
	td := spans("openinference.instrumentation.openai", map[string]string{"hypertool.persona.name": "researcher"},
		map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 4, "llm.token_count.completion": 2},
		map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": -3, "llm.token_count.completion": 1},
		map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": "abc", "llm.token_count.completion": 1},
		map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 5e8, "llm.token_count.completion": 1},
		map[string]any{"llm.model_name": "gpt-4o-mini", "gen_ai.usage.input_tokens": 6, "llm.token_count.prompt": 6, "gen_ai.usage.output_tokens": 3},
		map[string]any{"openinference.span.kind": "CHAIN"},
	)
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	p := "producer=openinference.instrumentation.openai"
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=researcher}":      15,
		"llm_tokens{model=gpt-4o-mini,persona=researcher,token_type=output}": 5,
		"cost{cost_source=estimated,model=gpt-4o-mini,persona=researcher}":   (10*0.15 + 5*0.6) / 1e6,
		"unused{" + p + ",reason=negative,signal=traces}":                    1,
		"unused{" + p + ",reason=not_a_number,signal=traces}":                1,
		"unused{" + p + ",reason=too_large,signal=traces}":                   1,
		"unused{" + p + ",reason=traces_only,signal=traces}":                 1,
	})
}

func TestUsageOnOtherProducersSpansIsCountedFromTheirMetric(t *testing.T) {
	g, sink := started(t, testConfig())
	td := spans("opentelemetry.instrumentation.openai_v2", nil,
		map[string]any{"gen_ai.usage.input_tokens": 4, "gen_ai.usage.output_tokens": 1})
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := totals(sink)
	expect(t, got, map[string]float64{"unused{producer=opentelemetry.instrumentation.openai_v2,reason=span_usage_ignored,signal=traces}": 1})
	if len(got) != 1 {
		t.Errorf("nothing else: %v", got)
	}
}

func TestAHandoffIsAPersonaSwitch(t *testing.T) {
	g, sink := started(t, testConfig())
	td := spans("openai.agents", map[string]string{"hypertool.persona.chatmode": "triage"},
		map[string]any{"gen_ai.operation.name": "agent_handoff", "gen_ai.handoff.from_agent": "Triage", "gen_ai.handoff.to_agent": "Billing"},
		map[string]any{"gen_ai.operation.name": "agent_handoff", "gen_ai.handoff.to_agent": "Billing"},
	)
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	expect(t, totals(sink), map[string]float64{
		"switches{chatmode=triage,from_persona=Triage,to_persona=Billing}": 1,
		"switches{chatmode=triage,from_persona=none,to_persona=Billing}":   1,
	})
}

func TestLibrarySpansBecomeDurationsAndRuns(t *testing.T) {
	g, sink := started(t, testConfig())
	td := spans("hypertool_agent", nil,
		map[string]any{"hypertool.span.type": "stage", "hypertool.workflow.name": "release", "hypertool.stage.name": "test"},
		map[string]any{"hypertool.span.type": "stage", "hypertool.workflow.name": "release", "hypertool.stage.name": "test"},
		map[string]any{"hypertool.span.type": "stage", "hypertool.workflow.name": "release"},
		map[string]any{"hypertool.span.type": "workflow", "hypertool.workflow.name": "release", "hypertool.workflow.result": "success"},
	)
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	expect(t, totals(sink), map[string]float64{
		"hypertool.workflow.stage.duration{stage=test,workflow=release}":         1.5,
		"hypertool.workflow.stage.duration_count{stage=test,workflow=release}":   2,
		"hypertool.workflow.stage.duration_bucket1{stage=test,workflow=release}": 2, // 0.75 s: le 1
		"hypertool.workflow.runs{result=success,workflow=release}":               1,
		"unused{producer=hypertool_agent,reason=missing_label,signal=traces}":    1,
	})
}

func TestLogRecordsAreCountedNotKept(t *testing.T) {
	g, sink := started(t, testConfig())
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.anthropic.claude_code.events")
	sl.LogRecords().AppendEmpty()
	sl.LogRecords().AppendEmpty()
	if err := g.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	expect(t, totals(sink), map[string]float64{"unused{producer=com.anthropic.claude_code.events,reason=not_kept,signal=logs}": 2})
}

func TestAnInvalidTableIsRefusedAtStart(t *testing.T) {
	cfg := testConfig()
	cfg.Labels["persona"] = []string{"span:gen_ai.agent.name"}
	cfg.Usage[0].Shape = "gauge"
	cfg.Series.Model, cfg.Prices.File = "llm", "prices.json"
	err := cfg.Validate()
	for _, want := range []string{"labels.persona", "shape must be", `series.model_label "llm"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
}

func TestUsageThatNamesAUserIsCountedPerUserToo(t *testing.T) {
	cfg := testConfig()
	cfg.Labels["user"] = []string{"point:user.email", "resource:user.email", "resource:user.id"}
	cfg.Series.UserTokens = Sum{Metric: Metric{Name: "user_tokens"}, Labels: []string{"user", "persona", "model"}}
	cfg.Series.UserCost = Sum{Metric: Metric{Name: "user_cost"}, Labels: []string{"user", "persona", "model", "cost_source"}}
	g, sink := started(t, cfg)
	now := time.Now()
	named := claudeExport(pmetric.AggregationTemporalityDelta, now, now, 100, 20, 0.5)
	named.ResourceMetrics().At(0).Resource().Attributes().PutStr("user.email", "ana@example.com")
	for _, md := range []pmetric.Metrics{named, claudeExport(pmetric.AggregationTemporalityDelta, now, now, 7, 1, 0.25)} {
		if err := g.ConsumeMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	got := totals(sink)
	expect(t, got, map[string]float64{
		"tokens{chatmode=unknown,model=claude-sonnet-4-5,persona=backend-engineer}":                             128,
		"user_tokens{model=claude-sonnet-4-5,persona=backend-engineer,user=ana@example.com}":                    120,
		"user_cost{cost_source=reported,model=claude-sonnet-4-5,persona=backend-engineer,user=ana@example.com}": 0.5,
		"cost{cost_source=reported,model=claude-sonnet-4-5,persona=backend-engineer}":                           0.75,
	})
	for key := range got {
		if strings.HasPrefix(key, "user_") && !strings.Contains(key, "ana@example.com") {
			t.Errorf("usage naming no user is in no per-user series: %s", key)
		}
	}
}
