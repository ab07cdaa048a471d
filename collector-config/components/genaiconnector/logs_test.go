// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

func logUsageConfig() *Config {
	cfg := testConfig()
	cfg.EventNameAttribute = "event.name"
	cfg.LogUsage = []LogUsage{
		{Event: "codex.sse_event", Where: map[string]string{"event.kind": "response.completed"}, Input: []string{"input_token_count"}, Output: []string{"output_token_count"}},
		{Event: "gemini_cli.api_response", Input: []string{"input_token_count"}, Output: []string{"output_token_count", "thoughts_token_count"}},
		{Event: "priced.call", Input: []string{"in"}, Output: []string{"out"}, Cost: "cost_usd"},
	}
	return cfg
}

func records(scope string, each ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "coder")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scope)
	for _, attrs := range each {
		lr := sl.LogRecords().AppendEmpty()
		if err := lr.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
	}
	return ld
}

func TestUsageEventsOfLogOnlyProducersCount(t *testing.T) {
	g, sink := started(t, logUsageConfig())
	ld := records("codex_otel",
		map[string]any{"event.name": "codex.sse_event", "event.kind": "response.completed", "model": "gpt-4o-mini", "input_token_count": 40, "output_token_count": "9"},
		map[string]any{"event.name": "codex.sse_event", "event.kind": "response.output_text.delta"},
		map[string]any{"event.name": "codex.sse_event", "event.kind": "response.completed", "model": "gpt-4o-mini", "input_token_count": -1},
		map[string]any{"event.name": "gemini_cli.api_response", "model": "gpt-4o-mini", "input_token_count": 10, "output_token_count": 3, "thoughts_token_count": 2},
		map[string]any{"event.name": "priced.call", "model": "house-model", "in": 5, "out": 1, "cost_usd": 0.25},
		map[string]any{"event.name": "priced.call", "model": "house-model", "in": 2, "out": 1, "cost_usd": "n/a"},
	)
	if err := g.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=coder}":      64,
		"llm_tokens{model=gpt-4o-mini,persona=coder,token_type=output}": 14,
		"cost{cost_source=estimated,model=gpt-4o-mini,persona=coder}":   (50*0.15 + 14*0.6) / 1e6,
		"tokens{chatmode=unknown,model=house-model,persona=coder}":      9,
		"cost{cost_source=reported,model=house-model,persona=coder}":    0.25,
		"unused{producer=codex_otel,reason=not_kept,signal=logs}":       1,
		"unused{producer=codex_otel,reason=negative,signal=logs}":       1,
		"unused{producer=codex_otel,reason=not_a_number,signal=logs}":   1, // the second priced call's cost
	})
	if _, ok := totals(sink)["unpriced{model=house-model,persona=coder}"]; ok {
		t.Error("a call whose cost is reported is not unpriced")
	}
}

func TestAUsageTableNeedsEventAndTokens(t *testing.T) {
	cfg := logUsageConfig()
	cfg.EventNameAttribute = ""
	cfg.LogUsage = append(cfg.LogUsage, LogUsage{Event: "x"})
	err := cfg.Validate()
	for _, want := range []string{`log_usage "x": event and input or output must be set`, "event_name_attribute must be set"} {
		if err == nil || !contains2(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
