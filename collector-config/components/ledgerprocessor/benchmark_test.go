// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// renderedConfig is the block hypertool renders (testdata/config.yaml, ledger), journaling
// into dir.
func renderedConfig(tb testing.TB, dir string) *Config {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := cm.Sub("ledger")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := createDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	cfg.Directory = dir
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// fleetSums is what agent_sums hands the ledger for one agent export: the fleet resource
// with the export's origin, and the delta sums of the library's counters (13 points).
func fleetSums(delivery string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("hypertool.aggregation", "fleet")
	res.PutStr("hypertool.ledger.delivery", delivery)
	res.PutStr("hypertool.ledger.producer", "support-agent")
	res.PutStr("hypertool.ledger.instance", "4f1c7a52-1d7e-4c1b-9a57-0e8c1f1b2f60")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector")
	sum := func(name string, points ...map[string]string) {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		s.SetIsMonotonic(true)
		for i, labels := range points {
			dp := s.DataPoints().AppendEmpty()
			dp.SetDoubleValue(float64(100 * (i + 1)))
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

// BenchmarkConsumeMetrics: one agent export's sums, a new delivery each time, into the
// streams they update, journaled (without fsync, the default) in a temporary directory.
func BenchmarkConsumeMetrics(b *testing.B) {
	benchmarkConsume(b, func(i int) pmetric.Metrics { return fleetSums("4f1c7a52:" + strconv.Itoa(i)) })
}

// benchmarkConsume times ConsumeMetrics on request(1), request(2), ... in a ledger
// journaling in a temporary directory. ConsumeMetrics takes a request apart: each call
// gets its own, made off the clock.
func benchmarkConsume(b *testing.B, request func(i int) pmetric.Metrics) {
	l := newLedger(renderedConfig(b, b.TempDir()), zap.NewNop(), consumertest.NewNop())
	ctx := context.Background()
	if err := l.Start(ctx, nil); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := l.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()
	const batch = 256
	requests := make([]pmetric.Metrics, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			for j := range requests {
				requests[j] = request(i + j + 1)
			}
			b.StartTimer()
		}
		if err := l.ConsumeMetrics(ctx, requests[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
}

// stageHistogram is what the genai connector hands the ledger for one request of the
// span load of bench/collector_limit.py: 512 stage spans of one label set
// make one delta histogram point, from the producer the connector names, with no
// delivery id.
func stageHistogram() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("hypertool.aggregation", "fleet")
	rm.Resource().Attributes().PutStr("hypertool.ledger.producer", "telemetrygen")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector")
	m := sm.Metrics().AppendEmpty()
	m.SetName("hypertool.workflow.stage.duration")
	m.SetDescription("Workflow stage duration.")
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(2)
	dp.Attributes().PutStr("persona", "backend-engineer")
	dp.Attributes().PutStr("stage", "implement")
	dp.Attributes().PutStr("workflow", "release")
	bounds := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	buckets := make([]uint64, len(bounds)+1)
	sum := 0.0
	for i := 0; i < 512; i++ {
		seconds := float64(i%40) * 0.15
		sum += seconds
		buckets[sort.SearchFloat64s(bounds, seconds)]++
	}
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(buckets)
	dp.SetCount(512)
	dp.SetSum(sum)
	return md
}

// BenchmarkConsumeStageHistogram: the ledger's part of one request of the span load, one
// histogram point into its stream, journaled as BenchmarkConsumeMetrics.
func BenchmarkConsumeStageHistogram(b *testing.B) {
	benchmarkConsume(b, func(int) pmetric.Metrics { return stageHistogram() })
}

// The benchmark's requests are what it claims: each applied once, into 13 streams.
func TestTheBenchmarkRequestsAreApplied(t *testing.T) {
	sink := &consumertest.MetricsSink{}
	l := newLedger(renderedConfig(t, t.TempDir()), zap.NewNop(), sink)
	if err := l.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	for i := 1; i <= 3; i++ {
		consume(t, l, fleetSums("4f1c7a52:"+strconv.Itoa(i)))
	}
	if got := len(l.state.streams); got != 13 {
		t.Fatalf("%d streams, want 13", got)
	}
	if got := totals(sink)["hypertool.persona.tokens_used/testing-specialist"]; got != 3*200 {
		t.Fatalf("tokens_used of testing-specialist %v, want 600", got)
	}
}

// The span load's histogram adds into one stream, all 512 spans counted.
func TestTheStageHistogramIsApplied(t *testing.T) {
	l := newLedger(renderedConfig(t, t.TempDir()), zap.NewNop(), consumertest.NewNop())
	if err := l.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	for i := 0; i < 3; i++ {
		consume(t, l, stageHistogram())
	}
	if got := len(l.state.streams); got != 1 {
		t.Fatalf("%d streams, want 1", got)
	}
	for _, s := range l.state.streams {
		if s.Count != 3*512 || s.producer != "" {
			t.Fatalf("stream %+v", s)
		}
	}
}
