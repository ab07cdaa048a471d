// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pipeline"
)

// renderedConfig is the block hypertool renders (testdata/config.yaml, agent_sums).
func renderedConfig(tb testing.TB) *Config {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := cm.Sub("agent_sums")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := createDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// agentExport is one export of an agent process as the hypertool library sends it: its
// resource with the delivery id, and the deltas of its counters since the last export,
// a few label sets each (two personas, one model, the token types of each call).
func agentExport() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", "support-agent")
	res.PutStr("service.instance.id", "4f1c7a52-1d7e-4c1b-9a57-0e8c1f1b2f60")
	res.PutStr("hypertool.delivery.id", "4f1c7a52-1d7e-4c1b-9a57-0e8c1f1b2f60:1234")
	res.PutStr("telemetry.sdk.language", "python")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("hypertool_agent")
	sum := func(name string, points ...map[string]string) {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		s.SetIsMonotonic(true)
		for i, labels := range points {
			dp := s.DataPoints().AppendEmpty()
			dp.SetIntValue(int64(100 * (i + 1)))
			dp.SetStartTimestamp(1)
			dp.SetTimestamp(2)
			for k, v := range labels {
				dp.Attributes().PutStr(k, v)
			}
		}
	}
	type kv = map[string]string
	personas := []string{"backend-engineer", "testing-specialist"}
	var used, tokens, cost []map[string]string
	for _, p := range personas {
		used = append(used, kv{"persona": p, "chatmode": "agent", "model": "claude-sonnet-4"})
		for _, tt := range []string{"input", "output", "cache_read"} {
			tokens = append(tokens, kv{"persona": p, "model": "claude-sonnet-4", "token_type": tt})
		}
		cost = append(cost, kv{"persona": p, "model": "claude-sonnet-4", "cost_source": "estimated"})
	}
	sum("hypertool.persona.tokens_used", used...)
	sum("hypertool.llm.tokens", tokens...)
	sum("hypertool.llm.cost_usd", cost...)
	sum("hypertool.persona.switches", kv{"from_persona": personas[0], "to_persona": personas[1], "chatmode": "agent"})
	sum("hypertool.workflow.quality_gate", kv{"workflow": "release", "stage": "review", "result": "pass"})
	sum("hypertool.workflow.tokens_used", kv{"workflow": "release", "persona": personas[0], "model": "claude-sonnet-4"})
	return md
}

// BenchmarkConsumeMetrics: one agent export through the connector as configured by
// hypertool, to nop pipelines.
func BenchmarkConsumeMetrics(b *testing.B) {
	cfg := renderedConfig(b)
	router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{
		pipeline.NewIDWithName(pipeline.SignalMetrics, "fleet"):   consumertest.NewNop(),
		pipeline.NewIDWithName(pipeline.SignalMetrics, "foreign"): consumertest.NewNop(),
	})
	conn, err := newConnector(cfg, router)
	if err != nil {
		b.Fatal(err)
	}
	export := agentExport()
	ctx := context.Background()
	// ConsumeMetrics takes the export apart: each call gets a copy, made off the clock.
	const batch = 256
	copies := make([]pmetric.Metrics, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			for j := range copies {
				copies[j] = pmetric.NewMetrics()
				export.CopyTo(copies[j])
			}
			b.StartTimer()
		}
		if err := conn.ConsumeMetrics(ctx, copies[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmark's export is what it claims: every point summed, none counted as unused.
func TestTheBenchmarkExportIsSummedWhole(t *testing.T) {
	fleet, foreign := new(consumertest.MetricsSink), new(consumertest.MetricsSink)
	router := connector.NewMetricsRouter(map[pipeline.ID]consumer.Metrics{
		pipeline.NewIDWithName(pipeline.SignalMetrics, "fleet"):   fleet,
		pipeline.NewIDWithName(pipeline.SignalMetrics, "foreign"): foreign,
	})
	conn, err := newConnector(renderedConfig(t), router)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.ConsumeMetrics(context.Background(), agentExport()); err != nil {
		t.Fatal(err)
	}
	if len(foreign.AllMetrics()) != 0 {
		t.Error("part of the agent export went to the foreign pipeline")
	}
	if got := fleet.DataPointCount(); got != 13 {
		t.Errorf("%d points summed, want the export's 13", got)
	}
	for _, md := range fleet.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() == "hypertool.pipeline.unused" || m.Name() == "hypertool.pipeline.rejected_points" {
						t.Errorf("%s in the output", m.Name())
					}
				}
			}
		}
	}
}
