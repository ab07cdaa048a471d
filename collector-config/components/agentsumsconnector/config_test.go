// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/hypertool-observability/hypertool/collector/agentsumsconnector/internal/metadata"
	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

func reasons() Reasons {
	return Reasons{
		NotANumber: "not_a_number", Negative: "negative", TooLarge: "too_large",
		NotSummable: "not_summable", NotUsage: "not_usage",
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	metrics := pipeline.NewID(pipeline.SignalMetrics)
	tests := []struct {
		id       component.ID
		expected component.Config
		// errorMessages: each must be part of the error Validate returns.
		errorMessages []string
	}{
		{
			id: component.NewID(metadata.Type),
			expected: &Config{
				Sums:       []pipeline.ID{pipeline.NewIDWithName(pipeline.SignalMetrics, "fleet")},
				SkipOthers: true,
				Prefix:     "hypertool.",
				Resource:   map[string]string{"hypertool.aggregation": "fleet"},
				Origin: Origin{
					DeliveryFrom: "hypertool.delivery.id", ProducerFrom: "service.name", InstanceFrom: "service.instance.id",
					Delivery: "hypertool.ledger.delivery", Producer: "hypertool.ledger.producer", Instance: "hypertool.ledger.instance",
				},
				Scope:         "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector",
				MaxValue:      100_000_000,
				MaxLabelBytes: 128,
				Counters: []Counter{
					{Metric: Metric{Name: "hypertool.persona.tokens_used", Description: "LLM tokens used.", Unit: "{token}"}, Labels: []string{"persona", "chatmode", "model"}},
					{Metric: Metric{Name: "hypertool.persona.switches", Description: "Persona switches.", Unit: "{switch}"}, Labels: []string{"from_persona", "to_persona", "chatmode"}},
					{Metric: Metric{Name: "hypertool.workflow.quality_gate", Description: "Quality-gate results.", Unit: "{gate}"}, Labels: []string{"workflow", "stage", "result"}},
					{Metric: Metric{Name: "hypertool.workflow.tokens_used", Description: "LLM tokens used inside workflow runs, for budgets narrowed to a workflow.", Unit: "{token}"}, Labels: []string{"workflow", "persona", "model"}},
					{Metric: Metric{Name: "hypertool.llm.tokens", Description: "LLM tokens by type, from the usage the provider reported.", Unit: "{token}"}, Labels: []string{"persona", "model", "token_type"}},
					{Metric: Metric{Name: "hypertool.llm.cost_usd", Description: "LLM cost in US dollars: reported by the producer, or estimated from list prices.", Unit: "{USD}"}, Labels: []string{"persona", "model", "cost_source"}},
					{Metric: Metric{Name: "hypertool.llm.unpriced_tokens", Description: "LLM tokens of models with no known price: in no cost, never priced at 0.", Unit: "{token}"}, Labels: []string{"persona", "model"}},
					{Metric: Metric{Name: "hypertool.agent.dropped_measurements", Description: "Measurements agents dropped as invalid (negative, not finite, not a number).", Unit: "{measurement}"}, Labels: []string{"reason"}},
				},
				Prices: Prices{
					File: "../genaiconnector/testdata/genai-prices.json", Tokens: "hypertool.llm.tokens",
					Cost: "hypertool.llm.cost_usd", Unpriced: "hypertool.llm.unpriced_tokens",
					PricedBy: "hypertool.llm.priced_by", ModelLabel: "model", TokenTypeLabel: "token_type",
					CostSourceLabel: "cost_source", Estimated: "estimated", Output: "output",
				},
				Rejected: Metric{Name: "hypertool.pipeline.rejected_points", Description: "Agent data points the fleet totals cannot use (cumulative counters).", Unit: "{point}"},
				Unused: Unused{
					Config: unused.Config{
						Name: "hypertool.pipeline.unused", Description: "Metric points, spans and log records received and not used, by reason.", Unit: "{item}",
						SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
						Signal: "metrics", UnknownProducer: "unknown",
					},
					Reasons: reasons(),
				},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "minimal"),
			expected: &Config{
				Sums:          []pipeline.ID{metrics},
				Prefix:        "hypertool.",
				Scope:         "sums",
				MaxValue:      100_000_000,
				MaxLabelBytes: 128,
				Rejected:      Metric{Name: "rejected"},
				Unused: Unused{
					Config: unused.Config{
						Name: "unused", SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
						Signal: "metrics", UnknownProducer: "unknown",
					},
					Reasons: reasons(),
				},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "empty"),
			errorMessages: []string{
				"sums must name at least one pipeline", "prefix must be set", "scope must be set",
				"rejected needs a name",
				"unused: needs name, signal_label, reason_label, producer_label, signal, unknown_producer",
				"unused: needs every reason",
			},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "bad_limits"),
			errorMessages: []string{"max_value must be positive (got -1)", "max_label_bytes must be positive (got 0)"},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "counter_twice"),
			errorMessages: []string{`counters[1]: "hypertool.llm.tokens" is listed twice`, "counters[2] needs a name"},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "origin_half"),
			errorMessages: []string{`origin: "hypertool.delivery.id" and "" must be set together`},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "unused_incomplete"),
			errorMessages: []string{"unused: needs signal_label, reason_label, producer_label", "unused: needs every reason"},
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
