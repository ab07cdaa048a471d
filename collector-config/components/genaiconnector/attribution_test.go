// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func attributionConfig() *Config {
	cfg := testConfig()
	cfg.Labels["persona"] = []string{"point:hypertool.persona.name", "resource:hypertool.persona.name", "resource:service.name"}
	cfg.Attribution = Attribution{
		AgentSpans: []AgentSpan{
			{Attribute: "gen_ai.operation.name", Value: "invoke_agent", Name: []string{"gen_ai.agent.name"}},
			{Attribute: "openinference.span.kind", Value: "AGENT", Name: []string{"agent.name", "graph.node.id"}},
		},
		UsageAgents: []UsageAgent{{When: "traceloop.association.properties.langgraph_node", Name: "traceloop.entity.path", Cut: "."}},
		Label:       "persona", Explicit: []string{"point:hypertool.persona.name", "resource:hypertool.persona.name"}, Wait: time.Hour, MaxPending: 100, MaxTraces: 100,
		Duration: Sum{Metric: Metric{Name: "persona_duration", Unit: "s"}, Labels: []string{"persona", "chatmode"}},
		Fallback: Fallback{Metric: Metric{Name: "unattributed"}, ReasonLabel: "reason", ProducerLabel: "producer"},
		Reasons:  AttributionReasons{NoAgentSpan: "no_agent_span", WaitExpired: "wait_expired", OverCapacity: "over_capacity", Shutdown: "shutdown"},
	}
	return cfg
}

// tracked starts a traces instance, the one that waits for agent spans.
func tracked(t *testing.T, cfg *Config) (*genai, *consumertest.MetricsSink) {
	t.Helper()
	g, sink := started(t, cfg)
	g.tracksAgents()
	g.startTracker()
	t.Cleanup(func() { _ = g.Shutdown(context.Background()) })
	return g, sink
}

// tree is one trace's spans of one producer, each span named by its index in the list:
// parent -1 is a root.
type treeSpan struct {
	parent int
	attrs  map[string]any
}

const openinference = "openinference.instrumentation.openai"

func trace(id byte, spans []treeSpan, only ...int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-app")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(openinference)
	start := time.Now()
	for i, s := range spans {
		if len(only) > 0 && !contains(only, i) {
			continue
		}
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(pcommon.TraceID{id})
		span.SetSpanID(pcommon.SpanID{id, byte(i + 1)})
		if s.parent >= 0 {
			span.SetParentSpanID(pcommon.SpanID{id, byte(s.parent + 1)})
		}
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(2 * time.Second)))
		if err := span.Attributes().FromRaw(s.attrs); err != nil {
			panic(err)
		}
	}
	return td
}

func contains(list []int, i int) bool {
	for _, j := range list {
		if i == j {
			return true
		}
	}
	return false
}

func llm(in, out int) map[string]any {
	return map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": in, "llm.token_count.completion": out}
}

func agent(name string) map[string]any {
	return map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
}

// A workflow: a triage agent calls the model, then a billing agent it calls does twice.
var workflow = []treeSpan{
	{-1, map[string]any{"openinference.span.kind": "CHAIN"}}, // 0: the run
	{0, agent("triage")},  // 1
	{1, llm(10, 2)},       // 2
	{1, agent("billing")}, // 3: called by triage
	{3, map[string]any{"openinference.span.kind": "CHAIN"}}, // 4
	{4, llm(20, 5)}, // 5
	{3, llm(30, 7)}, // 6
}

func consume(t *testing.T, g *genai, td ptrace.Traces) {
	t.Helper()
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
}

func TestUsageWaitsForItsAgentSpanAndCountsAsItsAgents(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	consume(t, g, trace(1, workflow, 2, 5, 6, 4)) // the calls end first
	if got := totals(sink)["tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}"]; got != 0 {
		t.Fatalf("usage counted before its agent arrived, as the service's: %v", totals(sink))
	}
	consume(t, g, trace(1, workflow, 3))
	consume(t, g, trace(1, workflow, 1, 0))
	got := totals(sink)
	expect(t, got, map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=triage}":               12,
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=billing}":              62,
		"switches{chatmode=unknown,from_persona=triage,to_persona=billing}":       1,
		"persona_duration_count{chatmode=unknown,persona=billing}":                1,
		"persona_duration{chatmode=unknown,persona=triage}":                       2,
		"llm_tokens{model=gpt-4o-mini,persona=billing,token_type=output}":         12,
		"cost{cost_source=estimated,model=gpt-4o-mini,persona=billing}":           (50*0.15 + 12*0.6) / 1e6,
		"unused{producer=" + openinference + ",reason=traces_only,signal=traces}": 2,
	})
	for key := range got {
		if key == "unattributed" || len(key) > 12 && key[:12] == "unattributed" {
			t.Errorf("every call had its agent: %s", key)
		}
	}
	if g.tracker.pending != 0 {
		t.Errorf("nothing should wait: %d", g.tracker.pending)
	}
}

func TestUsageInATraceWithNoAgentCountsAtOnceAsTheServices(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	consume(t, g, trace(2, []treeSpan{{-1, llm(4, 1)}}))
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}":    5,
		"unattributed{producer=" + openinference + ",reason=no_agent_span}": 1,
	})
}

func TestASpanNamingItsAgentCountsAtOnce(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	call := llm(4, 1)
	call["hypertool.persona.name"] = "planner"
	consume(t, g, trace(3, []treeSpan{{-1, agent("x")}, {0, call}}, 1))
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=planner}": 5})
}

func TestUsageWhoseAgentNeverArrivesCountsAfterTheWait(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	consume(t, g, trace(4, workflow, 2))
	g.expireAndFlush(time.Now().Add(time.Hour), "wait_expired", false)
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}":   12,
		"unattributed{producer=" + openinference + ",reason=wait_expired}": 1,
	})
	consume(t, g, trace(4, workflow, 1, 0)) // too late: counted once, already
	if got := totals(sink)["tokens{chatmode=unknown,model=gpt-4o-mini,persona=triage}"]; got != 0 {
		t.Errorf("usage counted twice: %v", totals(sink))
	}
}

func TestUsageStillWaitingAtShutdownIsCounted(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	consume(t, g, trace(5, workflow, 5, 6, 4, 3)) // billing arrived, triage did not
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=billing}": 62,
	})
	consume(t, g, trace(6, workflow, 2))
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestUsageBeyondTheBoundCountsAtOnce(t *testing.T) {
	cfg := attributionConfig()
	cfg.Attribution.MaxPending = 1
	g, sink := tracked(t, cfg)
	consume(t, g, trace(7, workflow, 2, 5))
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}":    25,
		"unattributed{producer=" + openinference + ",reason=over_capacity}": 1,
	})
}

func TestTheOldestTraceIsForgottenBeyondMaxTraces(t *testing.T) {
	cfg := attributionConfig()
	cfg.Attribution.MaxTraces = 1
	g, sink := tracked(t, cfg)
	consume(t, g, trace(8, workflow, 2))
	consume(t, g, trace(9, workflow, 2))
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}":    12,
		"unattributed{producer=" + openinference + ",reason=over_capacity}": 1,
	})
}

func TestAUsageMetricOfASpanProducerIsNotCountedAgain(t *testing.T) {
	g, sink := started(t, attributionConfig())
	md := genaiHistogram("gpt-4o-mini", "input", 9, nil)
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().SetName(openinference)
	if err := g.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	got := totals(sink)
	expect(t, got, map[string]float64{"unused{producer=" + openinference + ",reason=counted_from_spans,signal=metrics}": 1})
	if len(got) != 1 {
		t.Errorf("nothing else: %v", got)
	}
}

func TestAttributionTableIsChecked(t *testing.T) {
	cfg := attributionConfig()
	cfg.Attribution.Label = "nope"
	cfg.Attribution.Wait = 0
	cfg.Attribution.Reasons.Shutdown = ""
	err := cfg.Validate()
	for _, want := range []string{`attribution.label "nope"`, "wait, max_pending", "every reason"} {
		if err == nil || !contains2(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func contains2(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains2(s[1:], sub)))
}

func TestAResourceThatNamesItsPersonaIsOnePersona(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	td := trace(10, workflow)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("hypertool.persona.name", "reviewer")
	consume(t, g, td)
	got := totals(sink)
	expect(t, got, map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=reviewer}": 74})
	for key := range got {
		if strings.HasPrefix(key, "switches") || strings.HasPrefix(key, "persona_duration") || strings.HasPrefix(key, "unattributed") {
			t.Errorf("its agent spans count as nothing: %s", key)
		}
	}
	if g.tracker.pending != 0 {
		t.Errorf("nothing waits: %d", g.tracker.pending)
	}
}

func TestAUsageSpanThatNamesItsAgentCountsAtOnceAsIt(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	call := llm(4, 1)
	call["traceloop.association.properties.langgraph_node"] = "agent"
	call["traceloop.entity.path"] = "billing_agent.billing_agent.agent.RunnableSequence"
	// Its nearest agent span is the graph's, which is not the agent that made the call.
	consume(t, g, trace(11, []treeSpan{{-1, agent("billing_workflow")}, {0, call}}, 1))
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=billing_agent}": 5})
	if g.tracker.pending != 0 {
		t.Errorf("nothing waits: %d", g.tracker.pending)
	}
}

func TestAChatSpansOwnAgentNameYieldsToItsAgentSpan(t *testing.T) {
	cfg := attributionConfig()
	cfg.Labels["persona"] = append([]string{"point:gen_ai.agent.name"}, cfg.Labels["persona"]...)
	g, sink := tracked(t, cfg)
	call := llm(4, 1)
	call["gen_ai.agent.name"] = "OpenAI Agent" // the OpenAI Agents bridge's default on every span
	consume(t, g, trace(12, []treeSpan{{-1, agent("triage_agent")}, {0, call}}, 1))
	consume(t, g, trace(12, []treeSpan{{-1, agent("triage_agent")}, {0, call}}, 0))
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=triage_agent}": 5})
	// Unclaimed, it is the service's, not the default's.
	consume(t, g, trace(13, []treeSpan{{-1, agent("triage_agent")}, {0, call}}, 1))
	g.expireAndFlush(time.Now().Add(2*time.Hour), "wait_expired", false)
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}": 5})
}

func TestAgentSpansOfAnIgnoredScopeMakeNoSwitchNorDuration(t *testing.T) {
	cfg := attributionConfig()
	cfg.Attribution.IgnoreScopes = []string{openinference}
	g, sink := tracked(t, cfg)
	named := workflow[5].attrs
	workflow[5].attrs = map[string]any{"traceloop.association.properties.langgraph_node": "agent", "traceloop.entity.path": "billing.agent"}
	for k, v := range named {
		workflow[5].attrs[k] = v
	}
	defer func() { workflow[5].attrs = named }()
	consume(t, g, trace(14, workflow))
	got := totals(sink)
	expect(t, got, map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}": 49,
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=billing}":     25, // it names its agent
	})
	for key := range got {
		if strings.HasPrefix(key, "switches") || strings.HasPrefix(key, "persona_duration") {
			t.Errorf("no agents here: %s", key)
		}
	}
}

// siblings is a trace of agents beside each other under a workflow span, each from
// start to end seconds; with handoff, the trace records a handoff span too.
func siblings(id byte, handoff bool, agents ...struct {
	name       string
	start, end int
}) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "trips")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("gcp.vertex.agent")
	t0 := time.Now()
	root := ss.Spans().AppendEmpty()
	root.SetTraceID(pcommon.TraceID{id})
	root.SetSpanID(pcommon.SpanID{id, 0xff})
	root.Attributes().PutStr("gen_ai.operation.name", "invoke_workflow")
	for i, a := range agents {
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(pcommon.TraceID{id})
		span.SetSpanID(pcommon.SpanID{id, byte(i + 1)})
		span.SetParentSpanID(root.SpanID())
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(a.start) * time.Second)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(a.end) * time.Second)))
		span.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
		span.Attributes().PutStr("gen_ai.agent.name", a.name)
	}
	if handoff {
		h := ss.Spans().AppendEmpty()
		h.SetTraceID(pcommon.TraceID{id})
		h.SetSpanID(pcommon.SpanID{id, 0xfe})
		h.SetParentSpanID(pcommon.SpanID{id, 1})
		_ = h.Attributes().FromRaw(map[string]any{"gen_ai.operation.name": "agent_handoff", "gen_ai.handoff.from_agent": "planner", "gen_ai.handoff.to_agent": "booker"})
	}
	return td
}

type ran = struct {
	name       string
	start, end int
}

func TestAnAgentAfterAnotherBesideItIsASwitch(t *testing.T) {
	g, sink := tracked(t, attributionConfig())
	consume(t, g, siblings(30, false, ran{"planner", 0, 1}, ran{"booker", 1, 3}, ran{"booker", 3, 4}))
	consume(t, g, siblings(31, false, ran{"fetcher_a", 0, 2}, ran{"fetcher_b", 1, 2})) // at once
	consume(t, g, siblings(32, true, ran{"planner", 0, 1}, ran{"booker", 1, 3}))       // its handoff span
	got := totals(sink)
	expect(t, got, map[string]float64{
		"switches{chatmode=unknown,from_persona=planner,to_persona=booker}": 2, // 1 beside, 1 handoff
	})
	for key := range got {
		if strings.HasPrefix(key, "switches") && !strings.Contains(key, "from_persona=planner,to_persona=booker") {
			t.Errorf("no other switch: %s", key)
		}
	}
}
