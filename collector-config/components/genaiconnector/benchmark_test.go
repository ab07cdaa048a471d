// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The benchmarks hand the connector, created by its factory from the rendered block and
// started on the small price file, the exports its producers send. What it writes goes to
// a sink, emptied off the clock every 256 calls so that it does not grow with b.N.

var benchStart = time.Now()

// claudeCodeExport is the seq-th export of one Claude Code session, with its default
// cumulative temporality: every metric Claude Code sends, its standard attributes on
// each point, each counter grown since the last export. Tokens of two models and four
// token types, the cost it reports, and the metrics that are not usage (sessions, lines
// of code, active time, edit decisions).
func claudeCodeExport(seq int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", "claude-code")
	res.PutStr("service.version", "2.0.14")
	res.PutStr("os.type", "linux")
	res.PutStr("os.version", "6.8.0-45-generic")
	res.PutStr("host.arch", "amd64")
	res.PutStr("hypertool.persona.name", "backend-engineer")
	res.PutStr("hypertool.persona.chatmode", "agent")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("com.anthropic.claude_code")
	sm.Scope().SetVersion("2.0.14")
	start := pcommon.NewTimestampFromTime(benchStart)
	stamp := pcommon.NewTimestampFromTime(benchStart.Add(time.Duration(seq+1) * time.Second))
	n := float64(seq + 1)
	standard := func(attrs pcommon.Map) {
		attrs.PutStr("session.id", "0b7d2c4e-51b3-4f0e-9a7c-6f2f3b8e9d10")
		attrs.PutStr("app.version", "2.0.14")
		attrs.PutStr("organization.id", "3f2a1c9e-7b64-4d2a-8e51-c0d9f7a6b312")
		attrs.PutStr("user.account_uuid", "9c4e8b21-5a7d-4f3e-b6c2-1d8e0f9a7b54")
		attrs.PutStr("user.id", "5e1f0c3a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f")
		attrs.PutStr("terminal.type", "vscode")
	}
	sum := func(name, unit string, points ...func(dp pmetric.NumberDataPoint)) {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		s.SetIsMonotonic(true)
		for _, point := range points {
			dp := s.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(stamp)
			standard(dp.Attributes())
			point(dp)
		}
	}
	models := []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"}
	var tokens, cost []func(pmetric.NumberDataPoint)
	for i, model := range models {
		for j, typ := range []string{"input", "output", "cacheRead", "cacheCreation"} {
			per := float64(100*(i+1) + 10*j)
			tokens = append(tokens, func(dp pmetric.NumberDataPoint) {
				dp.SetDoubleValue(per * n)
				dp.Attributes().PutStr("type", typ)
				dp.Attributes().PutStr("model", model)
			})
		}
		cost = append(cost, func(dp pmetric.NumberDataPoint) {
			dp.SetDoubleValue(0.004 * float64(i+1) * n)
			dp.Attributes().PutStr("model", model)
		})
	}
	sum("claude_code.token.usage", "tokens", tokens...)
	sum("claude_code.cost.usage", "USD", cost...)
	sum("claude_code.session.count", "count", func(dp pmetric.NumberDataPoint) { dp.SetDoubleValue(1) })
	sum("claude_code.lines_of_code.count", "count",
		func(dp pmetric.NumberDataPoint) { dp.SetDoubleValue(12 * n); dp.Attributes().PutStr("type", "added") },
		func(dp pmetric.NumberDataPoint) { dp.SetDoubleValue(3 * n); dp.Attributes().PutStr("type", "removed") })
	sum("claude_code.active_time.total", "s", func(dp pmetric.NumberDataPoint) { dp.SetDoubleValue(20 * n) })
	sum("claude_code.code_edit_tool.decision", "count", func(dp pmetric.NumberDataPoint) {
		dp.SetDoubleValue(n)
		dp.Attributes().PutStr("tool", "Edit")
		dp.Attributes().PutStr("decision", "accept")
		dp.Attributes().PutStr("language", "Go")
	})
	return md
}

// genaiHistogramExport is one export of an app instrumented with the GenAI
// instrumentations, delta temporality: gen_ai.client.token.usage for three models of two
// providers, input and output, priced from the price file, and the operation duration,
// which is not usage.
func genaiHistogramExport() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", "support-bot")
	res.PutStr("service.instance.id", "7d3c9a4e-2f1b-4c8d-9e6a-5b0f1c2d3e4f")
	res.PutStr("telemetry.sdk.language", "python")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	res.PutStr("telemetry.sdk.version", "1.38.0")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	now := pcommon.NewTimestampFromTime(time.Now())
	usage := sm.Metrics().AppendEmpty()
	usage.SetName("gen_ai.client.token.usage")
	usage.SetUnit("{token}")
	h := usage.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	duration := sm.Metrics().AppendEmpty()
	duration.SetName("gen_ai.client.operation.duration")
	duration.SetUnit("s")
	d := duration.SetEmptyHistogram()
	d.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	bounds := []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	for _, call := range []struct{ provider, model string }{
		{"openai", "gpt-4o-mini"}, {"openai", "gpt-4o"}, {"anthropic", "claude-sonnet-4-5"},
	} {
		common := func(attrs pcommon.Map) {
			attrs.PutStr("gen_ai.operation.name", "chat")
			attrs.PutStr("gen_ai.provider.name", call.provider)
			attrs.PutStr("gen_ai.request.model", call.model)
			attrs.PutStr("gen_ai.response.model", call.model)
			attrs.PutStr("server.address", "api."+call.provider+".com")
		}
		for i, typ := range []string{"input", "output"} {
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(now - 60e9)
			dp.SetTimestamp(now)
			dp.SetCount(12)
			dp.SetSum(float64(4000 - 3000*i))
			dp.ExplicitBounds().FromRaw(bounds)
			counts := make([]uint64, len(bounds)+1)
			counts[6+i] = 12
			dp.BucketCounts().FromRaw(counts)
			common(dp.Attributes())
			dp.Attributes().PutStr("gen_ai.token.type", typ)
		}
		dp := d.DataPoints().AppendEmpty()
		dp.SetTimestamp(now)
		dp.SetCount(12)
		dp.SetSum(18.5)
		common(dp.Attributes())
	}
	return md
}

// librarySpans is one export of the hypertool library's spans: a workflow run, its
// stages, the personas it went through and their LLM calls, n spans in all, with the
// attributes the library sets on each.
func librarySpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "release-agent")
	res.PutStr("service.instance.id", "4f1c7a52-1d7e-4c1b-9a57-0e8c1f1b2f60")
	res.PutStr("telemetry.sdk.language", "python")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("hypertool_agent")
	start := time.Now()
	personas := []string{"backend-engineer", "testing-specialist", "devops-engineer"}
	stages := []string{"plan", "implement", "test", "review"}
	models := []string{"claude-sonnet-4-5", "gpt-4o-mini"}
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), 2})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i%40) * 150 * time.Millisecond)))
		a := s.Attributes()
		persona := personas[i%len(personas)]
		a.PutStr("hypertool.workflow.name", "release")
		a.PutStr("hypertool.persona.name", persona)
		a.PutStr("hypertool.persona.chatmode", "agent")
		switch {
		case i == 0:
			s.SetName("workflow release")
			a.PutStr("hypertool.span.type", "workflow")
			a.PutStr("hypertool.workflow.result", "success")
		case i%25 == 1:
			s.SetName("stage")
			a.PutStr("hypertool.span.type", "stage")
			a.PutStr("hypertool.stage.name", stages[(i/25)%len(stages)])
		case i%10 == 2:
			s.SetName("persona " + persona)
			a.PutStr("hypertool.span.type", "persona")
		default:
			model := models[i%len(models)]
			s.SetName("chat " + model)
			a.PutStr("hypertool.span.type", "llm_call")
			a.PutStr("hypertool.model", model)
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.request.model", model)
			a.PutInt("gen_ai.usage.input_tokens", int64(1000+i))
			a.PutInt("gen_ai.usage.output_tokens", int64(200+i))
		}
	}
	return td
}

// stageSpans is one export of n stage spans of one label set: the load
// bench/collector_limit.py sends with telemetrygen (a batch of the SDK's 512).
func stageSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "telemetrygen")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	start := time.Now()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("stage")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i%40) * 150 * time.Millisecond)))
		a := s.Attributes()
		a.PutStr("hypertool.span.type", "stage")
		a.PutStr("hypertool.workflow.name", "release")
		a.PutStr("hypertool.stage.name", "implement")
		a.PutStr("hypertool.persona.name", "backend-engineer")
	}
	return td
}

// openinferenceSpans is one export of an app instrumented with openinference, which
// reports usage on its LLM spans only: n spans of three models, each with the prompt and
// completion as openinference records them, priced by the model's name.
func openinferenceSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "rag-app")
	res.PutStr("service.instance.id", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
	res.PutStr("openinference.project.name", "rag-app")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("openinference.instrumentation.openai")
	ss.Scope().SetVersion("0.1.30")
	start := time.Now()
	prompt := strings.Repeat("Summarise the customer's ticket and propose a fix. ", 20)
	models := []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"}
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("ChatCompletion")
		s.SetTraceID(pcommon.TraceID{byte(i), 3})
		s.SetSpanID(pcommon.SpanID{byte(i), 4})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(900 * time.Millisecond)))
		a := s.Attributes()
		a.PutStr("openinference.span.kind", "LLM")
		a.PutStr("llm.system", "openai")
		a.PutStr("llm.provider", "openai")
		a.PutStr("llm.model_name", models[i%len(models)])
		a.PutStr("llm.invocation_parameters", `{"temperature": 0.2, "max_tokens": 1024}`)
		a.PutStr("input.value", prompt)
		a.PutStr("input.mime_type", "text/plain")
		a.PutStr("output.value", "The ticket reports a timeout when saving; raise the client's deadline.")
		a.PutStr("llm.input_messages.0.message.role", "user")
		a.PutStr("llm.input_messages.0.message.content", prompt)
		a.PutStr("llm.output_messages.0.message.role", "assistant")
		a.PutInt("llm.token_count.prompt", int64(800+i))
		a.PutInt("llm.token_count.completion", int64(120+i))
		a.PutInt("llm.token_count.total", int64(920+2*i))
	}
	return td
}

// claudeCodeEvents is one export of Claude Code's log events: n records of its three
// kinds, with their attributes.
func claudeCodeEvents(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "claude-code")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.anthropic.claude_code.events")
	for i := 0; i < n; i++ {
		r := sl.LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		a := r.Attributes()
		a.PutStr("session.id", "0b7d2c4e-51b3-4f0e-9a7c-6f2f3b8e9d10")
		switch i % 3 {
		case 0:
			r.Body().SetStr("claude_code.api_request")
			a.PutStr("event.name", "api_request")
			a.PutStr("model", "claude-sonnet-4-5-20250929")
			a.PutDouble("cost_usd", 0.0123)
			a.PutInt("input_tokens", 1200)
			a.PutInt("output_tokens", 300)
		case 1:
			r.Body().SetStr("claude_code.tool_result")
			a.PutStr("event.name", "tool_result")
			a.PutStr("tool_name", "Edit")
			a.PutStr("success", "true")
		default:
			r.Body().SetStr("claude_code.user_prompt")
			a.PutStr("event.name", "user_prompt")
			a.PutInt("prompt_length", 240)
		}
	}
	return ld
}

func BenchmarkConsumeMetrics(b *testing.B) {
	b.Run("claude_code_cumulative", func(b *testing.B) {
		c := startedFromFactory(b, renderedConfig(b))
		ctx := context.Background()
		// Each export is a later one of the same session (a cumulative stream is counted
		// once per new total), made off the clock, in batches.
		const batch = 256
		exports := make([]pmetric.Metrics, batch)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%batch == 0 {
				b.StopTimer()
				for j := range exports {
					exports[j] = claudeCodeExport(i + j)
				}
				c.sink.Reset()
				b.StartTimer()
			}
			if err := c.metrics.ConsumeMetrics(ctx, exports[i%batch]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("genai_histogram_priced", func(b *testing.B) {
		c := startedFromFactory(b, renderedConfig(b))
		ctx := context.Background()
		export := genaiHistogramExport() // a delta export: the connector only reads it
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%256 == 0 {
				b.StopTimer()
				c.sink.Reset()
				b.StartTimer()
			}
			if err := c.metrics.ConsumeMetrics(ctx, export); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkConsumeTraces(b *testing.B) {
	for _, bench := range []struct {
		name  string
		spans ptrace.Traces
	}{
		{"library_spans_100", librarySpans(100)},
		{"stage_spans_512_one_label_set", stageSpans(512)},
		{"openinference_usage_100_priced", openinferenceSpans(100)},
	} {
		b.Run(bench.name, func(b *testing.B) {
			c := startedFromFactory(b, renderedConfig(b))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%256 == 0 {
					b.StopTimer()
					c.sink.Reset()
					b.StartTimer()
				}
				if err := c.traces.ConsumeTraces(ctx, bench.spans); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// agentRun is one trace of 10 agents of 10 calls each, as it arrives: the calls' spans
// in one export, their agents' in a later one (an SDK exports a span when it ends).
func agentRun(id byte) (calls, agents ptrace.Traces) {
	calls, agents = ptrace.NewTraces(), ptrace.NewTraces()
	start := time.Now()
	scopes := [2]ptrace.ScopeSpans{}
	for i, td := range []ptrace.Traces{calls, agents} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "support-desk")
		scopes[i] = rs.ScopeSpans().AppendEmpty()
		scopes[i].Scope().SetName("strands.telemetry.tracer")
	}
	for a := 0; a < 10; a++ {
		agent := scopes[1].Spans().AppendEmpty()
		agent.SetTraceID(pcommon.TraceID{id})
		agent.SetSpanID(pcommon.SpanID{id, byte(a), 0xff})
		agent.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		agent.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
		agent.Attributes().PutStr("gen_ai.operation.name", "invoke_agent")
		agent.Attributes().PutStr("gen_ai.agent.name", fmt.Sprintf("agent_%d", a))
		for c := 0; c < 10; c++ {
			call := scopes[0].Spans().AppendEmpty()
			call.SetTraceID(pcommon.TraceID{id})
			call.SetSpanID(pcommon.SpanID{id, byte(a), byte(c)})
			call.SetParentSpanID(agent.SpanID())
			call.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			call.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(100 * time.Millisecond)))
			attrs := call.Attributes()
			attrs.PutStr("gen_ai.operation.name", "chat")
			attrs.PutStr("gen_ai.request.model", "gpt-4o-mini")
			attrs.PutInt("gen_ai.usage.input_tokens", 120)
			attrs.PutInt("gen_ai.usage.output_tokens", 30)
		}
	}
	return calls, agents
}

// BenchmarkConsumeTracesAttributed: 100 calls wait for their 10 agents, then count as
// theirs; one op is both exports of one trace.
func BenchmarkConsumeTracesAttributed(b *testing.B) {
	c := startedFromFactory(b, renderedConfig(b))
	ctx := context.Background()
	var calls, agents [64]ptrace.Traces
	for i := range calls {
		calls[i], agents[i] = agentRun(byte(i + 1))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%256 == 0 {
			b.StopTimer()
			c.sink.Reset()
			b.StartTimer()
		}
		if err := c.traces.ConsumeTraces(ctx, calls[i%64]); err != nil {
			b.Fatal(err)
		}
		if err := c.traces.ConsumeTraces(ctx, agents[i%64]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsumeLogs(b *testing.B) {
	c := startedFromFactory(b, renderedConfig(b))
	ctx := context.Background()
	events := claudeCodeEvents(100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%256 == 0 {
			b.StopTimer()
			c.sink.Reset()
			b.StartTimer()
		}
		if err := c.logs.ConsumeLogs(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks' exports are what they claim: everything of them that is usage is
// summed, priced where it reports no cost, and the rest counted as unused.
func TestTheBenchmarkExportsAreWhatTheyClaim(t *testing.T) {
	ctx := context.Background()
	t.Run("claude_code_cumulative", func(t *testing.T) {
		c := startedFromFactory(t, renderedConfig(t))
		for seq := 0; seq < 3; seq++ {
			require.NoError(t, c.metrics.ConsumeMetrics(ctx, claudeCodeExport(seq)))
		}
		got := totals(c.sink)
		p := "persona=backend-engineer"
		// The session started before the collector: its first export is a baseline, the
		// next two count what each adds.
		assert.Equal(t, 2*(100.0+110+120+130), got["hypertool.persona.tokens_used{chatmode=agent,model=claude-sonnet-4-5-20250929,"+p+"}"])
		assert.InEpsilon(t, 2*0.008, got["hypertool.llm.cost_usd{cost_source=reported,model=claude-haiku-4-5-20251001,"+p+"}"], 1e-9)
		assert.Equal(t, 3*5.0, got["hypertool.pipeline.unused{producer=com.anthropic.claude_code,reason=not_usage,signal=metrics}"])
		for k := range got {
			assert.NotContains(t, k, "unpriced", "Claude Code reports its cost")
			assert.NotContains(t, k, "estimated", "Claude Code reports its cost")
		}
	})
	t.Run("genai_histogram_priced", func(t *testing.T) {
		c := startedFromFactory(t, renderedConfig(t))
		require.NoError(t, c.metrics.ConsumeMetrics(ctx, genaiHistogramExport()))
		got := totals(c.sink)
		for _, model := range []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"} {
			assert.Positive(t, got["hypertool.llm.cost_usd{cost_source=estimated,model="+model+",persona=support-bot}"], model)
		}
		assert.Equal(t, 3.0, got["hypertool.pipeline.unused{producer=opentelemetry.instrumentation.openai_v2,reason=not_usage,signal=metrics}"])
		assertNo(t, got, "unpriced")
	})
	t.Run("library_spans", func(t *testing.T) {
		c := startedFromFactory(t, renderedConfig(t))
		require.NoError(t, c.traces.ConsumeTraces(ctx, librarySpans(100)))
		got := totals(c.sink)
		var observed float64
		for k, v := range got {
			if strings.Contains(k, "_count{") || strings.HasPrefix(k, "hypertool.workflow.runs{") {
				observed += v
			}
		}
		assert.Equal(t, 100.0, observed, "every span observed once")
		assertNo(t, got, "hypertool.pipeline.unused")
	})
	t.Run("openinference_usage", func(t *testing.T) {
		c := startedFromFactory(t, renderedConfig(t))
		require.NoError(t, c.traces.ConsumeTraces(ctx, openinferenceSpans(100)))
		got := totals(c.sink)
		for _, model := range []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"} {
			assert.Positive(t, got["hypertool.llm.cost_usd{cost_source=estimated,model="+model+",persona=rag-app}"], model)
		}
		assertNo(t, got, "unpriced")
		assertNo(t, got, "hypertool.pipeline.unused")
	})
	t.Run("logs", func(t *testing.T) {
		c := startedFromFactory(t, renderedConfig(t))
		require.NoError(t, c.logs.ConsumeLogs(ctx, claudeCodeEvents(100)))
		assert.Equal(t, map[string]float64{
			"hypertool.pipeline.unused{producer=com.anthropic.claude_code.events,reason=not_kept,signal=logs}": 100,
		}, totals(c.sink))
	})
}

func assertNo(t *testing.T, got map[string]float64, part string) {
	t.Helper()
	for k, v := range got {
		if strings.Contains(k, part) {
			t.Errorf("%s = %v", k, v)
		}
	}
}
