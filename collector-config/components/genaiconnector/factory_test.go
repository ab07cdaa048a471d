// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/hypertool-observability/hypertool/collector/genaiconnector/internal/metadata"
)

// renderedConfig is the block hypertool renders (testdata/config.yaml, genai), priced
// from the small price file beside it.
func renderedConfig(tb testing.TB) *Config {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(tb, err)
	sub, err := cm.Sub("genai")
	require.NoError(tb, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(tb, sub.Unmarshal(cfg))
	require.NoError(tb, cfg.Validate())
	// The rendered journal is the collector's state directory; a test keeps its own.
	cfg.Attribution.Directory = filepath.Join(tb.TempDir(), "attribution")
	return cfg
}

// connectors are the three the collector makes of one genai block, created through the
// factory and started, all writing to one sink.
type connectors struct {
	metrics connector.Metrics
	traces  connector.Traces
	logs    connector.Logs
	sink    *consumertest.MetricsSink
}

func startedFromFactory(tb testing.TB, cfg *Config) *connectors {
	tb.Helper()
	f := NewFactory()
	ctx := context.Background()
	set := connectortest.NewNopSettings(metadata.Type)
	c := &connectors{sink: new(consumertest.MetricsSink)}
	var err error
	c.metrics, err = f.CreateMetricsToMetrics(ctx, set, cfg, c.sink)
	require.NoError(tb, err)
	c.traces, err = f.CreateTracesToMetrics(ctx, set, cfg, c.sink)
	require.NoError(tb, err)
	c.logs, err = f.CreateLogsToMetrics(ctx, set, cfg, c.sink)
	require.NoError(tb, err)
	host := componenttest.NewNopHost()
	require.NoError(tb, c.metrics.Start(ctx, host))
	require.NoError(tb, c.traces.Start(ctx, host))
	require.NoError(tb, c.logs.Start(ctx, host))
	tb.Cleanup(func() {
		assert.NoError(tb, c.metrics.Shutdown(ctx))
		assert.NoError(tb, c.traces.Shutdown(ctx))
		assert.NoError(tb, c.logs.Shutdown(ctx))
	})
	return c
}

// listPrice is genai-prices' price, in USD per million tokens, of unit ("input_mtok",
// "output_mtok") of a model in the small price file: of its prices' entry (-1 where the
// model has one price, not a list of conditional ones), the base price if it is tiered.
// Read here from the file itself, so that the test checks the connector against the
// data, not against numbers copied from it.
func listPrice(tb testing.TB, provider, model string, entry int, unit string) float64 {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "genai-prices.json"))
	require.NoError(tb, err)
	var providers []struct {
		ID     string `json:"id"`
		Models []struct {
			ID     string          `json:"id"`
			Prices json.RawMessage `json:"prices"`
		} `json:"models"`
	}
	require.NoError(tb, json.Unmarshal(text, &providers))
	for _, p := range providers {
		for _, m := range p.Models {
			if p.ID != provider || m.ID != model {
				continue
			}
			var prices map[string]json.RawMessage
			if entry < 0 {
				require.NoError(tb, json.Unmarshal(m.Prices, &prices))
			} else {
				var list []struct {
					Prices map[string]json.RawMessage `json:"prices"`
				}
				require.NoError(tb, json.Unmarshal(m.Prices, &list))
				prices = list[entry].Prices
			}
			var flat float64
			if json.Unmarshal(prices[unit], &flat) == nil {
				return flat
			}
			var tiered struct{ Base float64 }
			require.NoError(tb, json.Unmarshal(prices[unit], &tiered))
			return tiered.Base
		}
	}
	tb.Fatalf("no %s/%s in the price file", provider, model)
	return 0
}

// usagePoint is one export of gen_ai.client.token.usage, as the GenAI instrumentations
// send it: a delta histogram point of one call's tokens of one type.
func usagePoint(app, model, tokenType string, tokens float64, at time.Time, attrs map[string]string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", app)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	m := sm.Metrics().AppendEmpty()
	m.SetName("gen_ai.client.token.usage")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetSum(tokens)
	dp.SetCount(1)
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Second)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.Attributes().PutStr("gen_ai.response.model", model)
	dp.Attributes().PutStr("gen_ai.token.type", tokenType)
	for k, v := range attrs {
		dp.Attributes().PutStr(k, v)
	}
	return md
}

func day(text string) time.Time {
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		panic(err)
	}
	return t
}

// The real price book, from genai-prices' data: cost = tokens × the model's list price,
// matched by provider then model, at the usage's time; a model the data does not have is
// counted unpriced, never priced at 0.
func TestUsageIsPricedFromGenaiPricesData(t *testing.T) {
	now := time.Now()
	type call struct {
		tokenType string
		tokens    float64
	}
	tests := []struct {
		name     string
		model    string
		at       time.Time
		attrs    map[string]string
		calls    []call
		wantCost func(t *testing.T) float64 // nil: unpriced
	}{
		{
			name: "provider and model", model: "gpt-4o-mini", at: now,
			attrs: map[string]string{"gen_ai.provider.name": "openai"},
			calls: []call{{"input", 1000}, {"output", 200}},
			wantCost: func(t *testing.T) float64 {
				return 1000*listPrice(t, "openai", "gpt-4o-mini", -1, "input_mtok")/1e6 +
					200*listPrice(t, "openai", "gpt-4o-mini", -1, "output_mtok")/1e6
			},
		},
		{
			// genai-prices maps the conventions' azure.ai.openai to openai.
			name: "the older gen_ai.system", model: "gpt-4o", at: now,
			attrs: map[string]string{"gen_ai.system": "azure.ai.openai"},
			calls: []call{{"input", 500}},
			wantCost: func(t *testing.T) float64 {
				return 500 * listPrice(t, "openai", "gpt-4o", -1, "input_mtok") / 1e6
			},
		},
		{
			// A provider genai-prices does not know: the model's name says who it is.
			name: "unknown provider", model: "gpt-4o-mini", at: now,
			attrs: map[string]string{"gen_ai.provider.name": "x_ai"},
			calls: []call{{"output", 300}},
			wantCost: func(t *testing.T) float64 {
				return 300 * listPrice(t, "openai", "gpt-4o-mini", -1, "output_mtok") / 1e6
			},
		},
		{
			// No provider at all, and a sum of calls beyond the 200k-token tier: the base
			// tier, since a sum no longer knows each call's size.
			name: "base tier of summed usage", model: "claude-sonnet-4-5", at: now,
			calls: []call{{"input", 300_000}},
			wantCost: func(t *testing.T) float64 {
				return 300_000 * listPrice(t, "anthropic", "claude-sonnet-4-5", -1, "input_mtok") / 1e6
			},
		},
		{
			name: "dated price, before", model: "o3", at: day("2025-06-01T12:00:00Z"),
			calls: []call{{"input", 1000}},
			wantCost: func(t *testing.T) float64 {
				return 1000 * listPrice(t, "openai", "o3", 0, "input_mtok") / 1e6
			},
		},
		{
			name: "dated price, from its start date", model: "o3", at: day("2025-06-10T00:00:00Z"),
			calls: []call{{"input", 1000}},
			wantCost: func(t *testing.T) float64 {
				return 1000 * listPrice(t, "openai", "o3", 1, "input_mtok") / 1e6
			},
		},
		{
			name: "time of day, peak", model: "deepseek-chat", at: day("2026-03-02T03:00:00Z"),
			attrs: map[string]string{"gen_ai.provider.name": "deepseek"},
			calls: []call{{"output", 2000}},
			wantCost: func(t *testing.T) float64 {
				return 2000 * listPrice(t, "deepseek", "deepseek-chat", 1, "output_mtok") / 1e6
			},
		},
		{
			name: "time of day, off-peak", model: "deepseek-chat", at: day("2026-03-02T20:00:00Z"),
			attrs: map[string]string{"gen_ai.provider.name": "deepseek"},
			calls: []call{{"output", 2000}},
			wantCost: func(t *testing.T) float64 {
				return 2000 * listPrice(t, "deepseek", "deepseek-chat", 0, "output_mtok") / 1e6
			},
		},
		{
			name: "a model the data does not have", model: "house-model", at: now,
			attrs: map[string]string{"gen_ai.provider.name": "openai"},
			calls: []call{{"input", 7}, {"output", 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startedFromFactory(t, renderedConfig(t))
			var tokens float64
			for _, call := range tt.calls {
				tokens += call.tokens
				md := usagePoint("chat-app", tt.model, call.tokenType, call.tokens, tt.at, tt.attrs)
				require.NoError(t, c.metrics.ConsumeMetrics(context.Background(), md))
			}
			got := totals(c.sink)
			series := "{model=" + tt.model + ",persona=chat-app}"
			cost := "hypertool.llm.cost_usd{cost_source=estimated,model=" + tt.model + ",persona=chat-app}"
			assert.Equal(t, tokens, got["hypertool.persona.tokens_used{chatmode=unknown,model="+tt.model+",persona=chat-app}"])
			if tt.wantCost == nil {
				assert.Equal(t, tokens, got["hypertool.llm.unpriced_tokens"+series])
				assert.NotContains(t, got, cost)
				return
			}
			want := tt.wantCost(t)
			require.Positive(t, want)
			assert.InEpsilon(t, want, got[cost], 1e-12)
			assert.NotContains(t, got, "hypertool.llm.unpriced_tokens"+series)
		})
	}
}

// The usage on the spans of a producer that reports it nowhere else is priced at the
// span's end, by the model's name alone (openinference names no gen_ai provider).
func TestSpanUsageIsPricedFromGenaiPricesData(t *testing.T) {
	c := startedFromFactory(t, renderedConfig(t))
	td := spans("openinference.instrumentation.openai", map[string]string{"service.name": "rag-app"},
		map[string]any{"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 4000, "llm.token_count.completion": 500},
		map[string]any{"llm.model_name": "house-model", "llm.token_count.prompt": 10, "llm.token_count.completion": 5},
	)
	require.NoError(t, c.traces.ConsumeTraces(context.Background(), td))
	got := totals(c.sink)
	want := 4000*listPrice(t, "openai", "gpt-4o-mini", -1, "input_mtok")/1e6 +
		500*listPrice(t, "openai", "gpt-4o-mini", -1, "output_mtok")/1e6
	assert.InEpsilon(t, want, got["hypertool.llm.cost_usd{cost_source=estimated,model=gpt-4o-mini,persona=rag-app}"], 1e-12)
	assert.Equal(t, 15.0, got["hypertool.llm.unpriced_tokens{model=house-model,persona=rag-app}"])
	assert.Equal(t, 4500.0, got["hypertool.persona.tokens_used{chatmode=unknown,model=gpt-4o-mini,persona=rag-app}"])
}

// A price file that is missing or that genaiprices cannot read stops the collector at
// start, with an error naming the file: never a collector that silently prices nothing.
func TestABadPriceFileFailsStartNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	require.NoError(t, os.WriteFile(corrupt, []byte(`[{"id": "openai", "models": [`), 0o600))
	notPrices := filepath.Join(dir, "object.json")
	require.NoError(t, os.WriteFile(notPrices, []byte(`{"openai": {}}`), 0o600))
	for _, path := range []string{filepath.Join(dir, "missing.json"), corrupt, notPrices} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg := renderedConfig(t)
			cfg.Prices.File = path
			f := NewFactory()
			conn, err := f.CreateMetricsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			require.NoError(t, err)
			err = conn.Start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "genai: prices:")
			assert.NoError(t, conn.Shutdown(context.Background()))
		})
	}
}

// No price file: the collector starts, and every token that reports no cost is unpriced.
func TestNoPriceFileCountsEveryTokenUnpriced(t *testing.T) {
	cfg := renderedConfig(t)
	cfg.Prices.File = ""
	c := startedFromFactory(t, cfg)
	md := usagePoint("chat-app", "gpt-4o-mini", "input", 1000, time.Now(), map[string]string{"gen_ai.provider.name": "openai"})
	require.NoError(t, c.metrics.ConsumeMetrics(context.Background(), md))
	got := totals(c.sink)
	assert.Equal(t, 1000.0, got["hypertool.llm.unpriced_tokens{model=gpt-4o-mini,persona=chat-app}"])
	assert.NotContains(t, got, "hypertool.llm.cost_usd{cost_source=estimated,model=gpt-4o-mini,persona=chat-app}")
}
