// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/hypertool-observability/hypertool/collector/genaiconnector/internal/metadata"
	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

func reasons() Reasons {
	return Reasons{
		NotANumber: "not_a_number", Negative: "negative", TooLarge: "too_large",
		NotSummable: "not_summable", NotUsage: "not_usage", UnknownTokenType: "unknown_token_type",
		SpanUsageIgnored: "span_usage_ignored", TracesOnly: "traces_only", NotKept: "not_kept",
		OutOfOrder: "out_of_order", TooManyStreams: "too_many_streams", MissingLabel: "missing_label",
		CountedFromSpans: "counted_from_spans", CountedFromLogs: "counted_from_logs",
	}
}

func unusedConfig(name, description, unit string) Unused {
	return Unused{
		Config: unused.Config{
			Name: name, Description: description, Unit: unit,
			SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
			Signal: "metrics", UnknownProducer: "unknown",
		},
		Traces: "traces", Logs: "logs",
		Reasons: reasons(),
	}
}

// rendered is the block hypertool renders, as testdata/config.yaml holds it.
func rendered() *Config {
	sum := func(name, description, unit string, labels ...string) Sum {
		return Sum{Metric: Metric{Name: name, Description: description, Unit: unit}, Labels: labels}
	}
	return &Config{
		SkipPrefix: "hypertool.",
		Resource:   map[string]string{"hypertool.aggregation": "fleet"},
		Scope:      "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector",
		Origin: Origin{
			ProducerFrom: "service.name", InstanceFrom: "service.instance.id",
			Producer: "hypertool.ledger.producer", Instance: "hypertool.ledger.instance",
			Delivery: "hypertool.ledger.delivery",
		},
		MaxValue:      100_000_000,
		MaxLabelBytes: 128,
		Unknown:       "unknown",
		Labels: map[string][]string{
			"persona":  {"point:hypertool.persona.name", "resource:hypertool.persona.name", "point:gen_ai.agent.name", "resource:service.name"},
			"chatmode": {"point:hypertool.persona.chatmode", "resource:hypertool.persona.chatmode", "value:unknown"},
			"workflow": {"point:hypertool.workflow.name", "resource:hypertool.workflow.name"},
			"user":     {"point:user.email", "resource:user.email", "point:user.id", "resource:user.id", "point:enduser.id", "resource:enduser.id", "point:gen_ai.user.id", "point:ai.telemetry.metadata.userId"},
			"model":    {"point:model", "point:gen_ai.response.model", "point:gen_ai.request.model", "point:llm.model_name", "value:unknown"},
		},
		Usage: []UsageMetric{
			{
				Name: "claude_code.token.usage", Shape: "sum", TypeAttribute: "type",
				InputTypes: []string{"input", "cacheRead", "cacheCreation"}, OutputTypes: []string{"output"},
				ReportsCost: true,
			},
			{
				Name: "gen_ai.client.token.usage", Shape: "histogram", TypeAttribute: "gen_ai.token.type",
				InputTypes: []string{"input"}, OutputTypes: []string{"output"},
			},
		},
		Costs: []CostMetric{{Name: "claude_code.cost.usage"}},
		LogUsage: []LogUsage{{
			Event: "gemini_cli.api_response", Where: map[string]string{},
			Input: []string{"input_token_count", "tool_token_count"}, Output: []string{"output_token_count", "thoughts_token_count"},
			Producers: []string{"gemini-cli"},
		}, {
			Event: "codex.sse_event", Where: map[string]string{"event.kind": "response.completed"},
			Input: []string{"input_token_count"}, Output: []string{"output_token_count"},
			Producers: []string{"codex"},
		}},
		EventNameAttribute: "event.name",
		SpanUsage: SpanUsage{
			Producers: []string{
				"openinference.instrumentation.", "qwen-code", "opentelemetry.instrumentation.openai_agents",
				"strands.telemetry.tracer", "opentelemetry.instrumentation.langchain", "opencode",
			},
			Input:  []string{"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"},
			Output: []string{"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"},
		},
		Handoff: Handoff{
			OperationAttribute: "gen_ai.operation.name", Operation: "agent_handoff",
			From: "gen_ai.handoff.from_agent", To: "gen_ai.handoff.to_agent", NoFrom: "none",
		},
		Attribution: Attribution{
			AgentSpans:   []AgentSpan{{Attribute: "gen_ai.operation.name", Value: "invoke_agent", Name: []string{"gen_ai.agent.name"}}},
			IgnoreScopes: []string{"opentelemetry.instrumentation.langchain"},
			UsageAgents:  []UsageAgent{{When: "traceloop.association.properties.langgraph_node", Name: "traceloop.entity.path", Cut: "."}},
			Label:        "persona", Explicit: []string{"point:hypertool.persona.name", "resource:hypertool.persona.name"},
			Wait: 30 * time.Second, MaxPending: 100_000, MaxTraces: 20_000,
			Directory: "/var/lib/hypertool/ledger/attribution",
			Duration: Sum{
				Metric: Metric{Name: "hypertool.persona.duration", Description: "Time spent in a persona, observed when the persona is left.", Unit: "s"},
				Labels: []string{"persona", "chatmode"},
			},
			Fallback: Fallback{
				Metric:      Metric{Name: "hypertool.pipeline.unattributed", Description: "LLM calls counted from spans under their own persona: no agent span named them.", Unit: "{call}"},
				ReasonLabel: "reason", ProducerLabel: "producer",
			},
			Reasons: AttributionReasons{NoAgentSpan: "no_agent_span", WaitExpired: "wait_expired", OverCapacity: "over_capacity", Shutdown: "shutdown"},
		},
		SpanSeries: SpanSeries{
			TypeAttribute: "hypertool.span.type",
			Buckets:       []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
			Series: []SpanEntry{
				{
					Metric:   Metric{Name: "hypertool.workflow.stage.duration", Description: "Workflow stage duration.", Unit: "s"},
					SpanType: "stage", Kind: "histogram",
					Labels: map[string]string{"workflow": "hypertool.workflow.name", "stage": "hypertool.stage.name", "persona": "hypertool.persona.name"},
				},
				{
					Metric:   Metric{Name: "hypertool.persona.duration", Description: "Time spent in a persona, observed when the persona is left.", Unit: "s"},
					SpanType: "persona", Kind: "histogram",
					Labels: map[string]string{"persona": "hypertool.persona.name", "chatmode": "hypertool.persona.chatmode"},
				},
				{
					Metric:   Metric{Name: "hypertool.workflow.runs", Description: "Workflow runs, by outcome.", Unit: "{run}"},
					SpanType: "workflow", Kind: "counter",
					Labels: map[string]string{"workflow": "hypertool.workflow.name", "result": "hypertool.workflow.result"},
				},
				{
					Metric:   Metric{Name: "hypertool.llm.call.duration", Description: "LLM call duration.", Unit: "s"},
					SpanType: "llm_call", Kind: "histogram",
					Labels: map[string]string{"persona": "hypertool.persona.name", "model": "hypertool.model"},
				},
			},
		},
		Series: Series{
			Tokens:         sum("hypertool.persona.tokens_used", "LLM tokens used.", "{token}", "persona", "chatmode", "model"),
			WorkflowTokens: sum("hypertool.workflow.tokens_used", "LLM tokens used inside workflow runs, for budgets narrowed to a workflow.", "{token}", "workflow", "persona", "model"),
			TokensByType:   sum("hypertool.llm.tokens", "LLM tokens by type, from the usage the provider reported.", "{token}", "persona", "model", "token_type"),
			Cost:           sum("hypertool.llm.cost_usd", "LLM cost in US dollars: reported by the producer, or estimated from list prices.", "{USD}", "persona", "model", "cost_source"),
			Unpriced:       sum("hypertool.llm.unpriced_tokens", "LLM tokens of models with no known price: in no cost, never priced at 0.", "{token}", "persona", "model"),
			Switches:       sum("hypertool.persona.switches", "Persona switches.", "{switch}", "from_persona", "to_persona", "chatmode"),
			UserTokens:     sum("hypertool.user.tokens_used", "LLM tokens used, per user, of producers that name one.", "{token}", "user", "persona", "model"),
			UserCost:       sum("hypertool.user.cost_usd", "LLM cost in US dollars, per user, of producers that name one.", "{USD}", "user", "persona", "model", "cost_source"),
			TokenType:      "token_type", CostSource: "cost_source", From: "from_persona", To: "to_persona",
			Model: "model",
			Input: "input", Output: "output", Reported: "reported", Estimated: "estimated",
		},
		Prices: Prices{
			File:         filepath.Join("testdata", "genai-prices.json"),
			ProviderFrom: []string{"gen_ai.provider.name", "gen_ai.system"},
		},
		Cumulative: Cumulative{MaxStaleness: time.Hour, MaxStreams: 100_000},
		Unused: unusedConfig(
			"hypertool.pipeline.unused",
			"Metric points, spans and log records received and not used, by reason.",
			"{item}",
		),
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected component.Config
		// errorMessages: each must be part of the error Validate returns.
		errorMessages []string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: rendered(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "minimal"),
			expected: &Config{
				Scope:         "genai",
				MaxValue:      100_000_000,
				MaxLabelBytes: 128,
				Unknown:       "unknown",
				Cumulative:    Cumulative{MaxStaleness: time.Hour, MaxStreams: 100_000},
				Attribution:   Attribution{Wait: 30 * time.Second, MaxPending: 100_000, MaxTraces: 20_000},
				Unused:        unusedConfig("unused", "", ""),
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "empty"),
			errorMessages: []string{
				"scope must be set",
				"unused: needs name, signal_label, reason_label, producer_label, signal, unknown_producer",
				"unused.traces must be set", "unused.logs must be set",
				"unused: needs every reason (not_a_number, negative, too_large, not_summable, not_usage, " +
					"unknown_token_type, span_usage_ignored, counted_from_spans, counted_from_logs, traces_only, not_kept, out_of_order, too_many_streams, missing_label unset)",
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_limits"),
			errorMessages: []string{
				"max_value and max_label_bytes must be positive",
				"cumulative.max_staleness and max_streams must be positive",
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_sources"),
			errorMessages: []string{
				`labels.persona: source "span:gen_ai.agent.name" is not point:KEY, resource:KEY or value:TEXT`,
				`labels.model: source "point:" is not point:KEY, resource:KEY or value:TEXT`,
				`labels.chatmode: source "unknown" is not point:KEY, resource:KEY or value:TEXT`,
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_usage"),
			errorMessages: []string{
				`usage "gen_ai.client.token.usage": shape must be sum or histogram, not "gauge"`,
				"usage claude_code.token.usage: type_attribute must be set",
			},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "bad_span_series"),
			errorMessages: []string{`span_series "hypertool.workflow.runs": kind must be histogram or counter, not "gauge"`},
		},
		{
			id: component.NewIDWithName(metadata.Type, "unused_incomplete"),
			errorMessages: []string{
				"unused: needs signal_label, reason_label, producer_label",
				"unused.traces must be set", "unused.logs must be set",
				"unused: needs every reason (too_large, not_summable, not_usage, unknown_token_type, " +
					"span_usage_ignored, counted_from_spans, counted_from_logs, traces_only, not_kept, out_of_order, too_many_streams, missing_label unset)",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			t.Parallel()
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			if tt.expected == nil {
				err := confmap.Validate(cfg)
				require.Error(t, err)
				for _, msg := range tt.errorMessages {
					assert.ErrorContains(t, err, msg)
				}
				return
			}
			assert.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

// The testdata block is the rendered one: collector-config/generated/components.yaml's
// genai block, with each ${env:NAME:-default} its default and the small price file for
// the rendered one. When the renderer changes, this fails until testdata is copied again.
func TestTestdataIsTheRenderedBlock(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join("..", "..", "generated", "components.yaml"))
	if os.IsNotExist(err) {
		t.Skip("not in the hypertool repository: no rendered components.yaml")
	}
	require.NoError(t, err)
	resolved := regexp.MustCompile(`\$\{env:[A-Z0-9_]+:-([^}]*)\}`).ReplaceAllString(string(text), "$1")
	resolved = strings.ReplaceAll(resolved, "/etc/otelcol/generated/genai-prices.json", "testdata/genai-prices.json")
	path := filepath.Join(t.TempDir(), "components.yaml")
	require.NoError(t, os.WriteFile(path, []byte(resolved), 0o600))

	generated, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	want, err := generated.Sub("connectors::genai")
	require.NoError(t, err)
	testdata, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	got, err := testdata.Sub("genai")
	require.NoError(t, err)
	assert.Equal(t, want.ToStringMap(), got.ToStringMap())
}
