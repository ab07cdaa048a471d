// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

func testConfig(dir string) *Config {
	cfg := createDefaultConfig()
	cfg.Directory = dir
	cfg.MaxLabelValues = 3
	cfg.FoldedMetric = MetricNames{Name: "folded", MetricLabel: "metric", KeyLabel: "label"}
	cfg.UnusedMetric = UnusedNames{
		Config: unused.Config{
			Name: "unused", SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
			Signal: "metrics", UnknownProducer: "unknown",
		},
		Reasons: UnusedReasons{TooManySeries: "too_many_series"},
	}
	return cfg
}

func start(t *testing.T, cfg *Config) (*ledger, *consumertest.MetricsSink) {
	t.Helper()
	sink := &consumertest.MetricsSink{}
	l := newLedger(cfg, zap.NewNop(), sink)
	if err := l.Start(context.Background(), nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	return l, sink
}

// deltas builds one request of delta sum points "tokens" with the given persona values.
func deltas(value float64, personas ...string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("hypertool.aggregation", "fleet")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("tokens")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for _, p := range personas {
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("persona", p)
		dp.SetIntValue(int64(value))
	}
	return md
}

// totals reads the latest cumulative value per (metric, persona or label) from the sink.
func totals(sink *consumertest.MetricsSink) map[string]float64 {
	out := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						label := ""
						for _, k := range []string{"persona", "label", "reason"} {
							if v, ok := dp.Attributes().Get(k); ok {
								label = v.AsString()
							}
						}
						out[m.Name()+"/"+label] = dp.DoubleValue()
					}
				}
			}
		}
	}
	return out
}

func TestDeltasFromConcurrentSendersAddUpExactly(t *testing.T) {
	// Deltas from many goroutines at once all count, in whatever order they arrive.
	l, sink := start(t, testConfig(t.TempDir()))
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if err := l.ConsumeMetrics(context.Background(), deltas(3, "a")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := totals(sink)["tokens/a"]; got != 4800 {
		t.Fatalf("total %v, want 4800", got)
	}
	assertMonotonic(t, sink)
}

func assertMonotonic(t *testing.T, sink *consumertest.MetricsSink) {
	t.Helper()
	var lastTS uint64
	var lastValue float64
	for _, md := range sink.AllMetrics() {
		dp := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
		if uint64(dp.Timestamp()) <= lastTS || dp.DoubleValue() < lastValue {
			t.Fatalf("totals handed downstream out of order: %v at %d after %v at %d", dp.DoubleValue(), dp.Timestamp(), lastValue, lastTS)
		}
		if dp.StartTimestamp() >= dp.Timestamp() {
			t.Fatalf("start %d not before timestamp %d", dp.StartTimestamp(), dp.Timestamp())
		}
		lastTS, lastValue = uint64(dp.Timestamp()), dp.DoubleValue()
	}
}

func TestTotalsAndStartSurviveACrash(t *testing.T) {
	// A ledger abandoned without Shutdown (as by SIGKILL) restarts with its totals and start times.
	dir := t.TempDir()
	l, sink := start(t, testConfig(dir))
	for i := 0; i < 5; i++ {
		if err := l.ConsumeMetrics(context.Background(), deltas(7, "a", "b")); err != nil {
			t.Fatal(err)
		}
	}
	firstStart := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).StartTimestamp()
	l.store.lock.Close() // what the kernel does when the process dies; no compaction
	l.store.journal.Close()

	again, sink2 := start(t, testConfig(dir))
	got := totals(sink2)
	if got["tokens/a"] != 35 || got["tokens/b"] != 35 {
		t.Fatalf("after restart %v, want 35 each", got)
	}
	for _, md := range sink2.AllMetrics() {
		for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
			if s := m.Sum().DataPoints().At(0).StartTimestamp(); s != firstStart {
				t.Fatalf("start %d after restart, want %d", s, firstStart)
			}
		}
	}
	if err := again.ConsumeMetrics(context.Background(), deltas(1, "a")); err != nil {
		t.Fatal(err)
	}
	if got := totals(sink2)["tokens/a"]; got != 36 {
		t.Fatalf("total %v after restart and one more point, want 36", got)
	}
	if err := again.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, sink3 := start(t, testConfig(dir))
	if got := totals(sink3)["tokens/a"]; got != 36 {
		t.Fatalf("total %v after a clean restart, want 36", got)
	}
}

func TestTornLastLineIsSkipped(t *testing.T) {
	// A line cut short by a crash was never acknowledged: it is skipped, the rest is kept.
	dir := t.TempDir()
	l, _ := start(t, testConfig(dir))
	if err := l.ConsumeMetrics(context.Background(), deltas(4, "a")); err != nil {
		t.Fatal(err)
	}
	path := l.store.journalPath(l.store.generation)
	l.store.lock.Close()
	l.store.journal.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"deltas":[{"name":"tokens","kind":"sum","sum":1000`)
	f.Close()
	_, sink := start(t, testConfig(dir))
	if got := totals(sink)["tokens/a"]; got != 4 {
		t.Fatalf("total %v, want 4", got)
	}
}

func TestJournalCoveredBySnapshotIsNotCountedTwice(t *testing.T) {
	// A crash after the snapshot is written but before old journals are removed counts them once.
	dir := t.TempDir()
	l, _ := start(t, testConfig(dir))
	if err := l.ConsumeMetrics(context.Background(), deltas(5, "a")); err != nil {
		t.Fatal(err)
	}
	old := l.store.journalPath(l.store.generation)
	data, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Shutdown(context.Background()); err != nil { // snapshot covers the journal
		t.Fatal(err)
	}
	if err := os.WriteFile(old, data, 0o640); err != nil { // as if its removal never happened
		t.Fatal(err)
	}
	_, sink := start(t, testConfig(dir))
	if got := totals(sink)["tokens/a"]; got != 5 {
		t.Fatalf("total %v, want 5", got)
	}
}

func TestLabelValuesBeyondTheBoundFoldIntoOther(t *testing.T) {
	// The fourth distinct persona and later ones count under "other"; totals stay exact.
	l, sink := start(t, testConfig(t.TempDir()))
	if err := l.ConsumeMetrics(context.Background(), deltas(10, "a", "b", "c", "d", "e")); err != nil {
		t.Fatal(err)
	}
	if err := l.ConsumeMetrics(context.Background(), deltas(1, "a", "f")); err != nil {
		t.Fatal(err)
	}
	got := totals(sink)
	want := map[string]float64{"tokens/a": 11, "tokens/b": 10, "tokens/c": 10, "tokens/other": 21, "folded/persona": 3}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestStreamsBeyondTheLimitAreDroppedAndCounted(t *testing.T) {
	// Points that would open a stream beyond max_streams are dropped and counted.
	cfg := testConfig(t.TempDir())
	cfg.MaxLabelValues = 100
	cfg.MaxStreams = 2
	l, sink := start(t, cfg)
	if err := l.ConsumeMetrics(context.Background(), deltas(2, "a", "b", "c", "d")); err != nil {
		t.Fatal(err)
	}
	got := totals(sink)
	if got["tokens/a"] != 2 || got["tokens/b"] != 2 || got["unused/too_many_series"] != 2 {
		t.Fatalf("got %v", got)
	}
	if _, ok := got["tokens/c"]; ok {
		t.Fatalf("stream beyond the limit was created: %v", got)
	}
}

func TestOtherDataPassesThroughUnchanged(t *testing.T) {
	// Gauges and cumulative sums are not the ledger's: they go downstream as they came.
	l, sink := start(t, testConfig(t.TempDir()))
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("g")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(3)
	if err := l.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if sink.DataPointCount() != 1 || sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name() != "g" {
		t.Fatalf("gauge not passed through")
	}
}

func TestHistogramsAccumulate(t *testing.T) {
	// Delta histograms add bucket by bucket.
	l, sink := start(t, testConfig(t.TempDir()))
	for i := 0; i < 3; i++ {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("d")
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		dp := h.DataPoints().AppendEmpty()
		dp.ExplicitBounds().FromRaw([]float64{1, 2})
		dp.BucketCounts().FromRaw([]uint64{1, 0, 2})
		dp.SetCount(3)
		dp.SetSum(7.5)
		if err := l.ConsumeMetrics(context.Background(), md); err != nil {
			t.Fatal(err)
		}
	}
	all := sink.AllMetrics()
	dp := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0)
	if dp.Count() != 9 || dp.Sum() != 22.5 || dp.BucketCounts().At(2) != 6 {
		t.Fatalf("histogram %d %v %v", dp.Count(), dp.Sum(), dp.BucketCounts().AsRaw())
	}
}

func TestSecondCollectorOnTheSameDirectoryIsRefused(t *testing.T) {
	// Two collectors writing one ledger would each count half: the second does not start.
	dir := t.TempDir()
	start(t, testConfig(dir))
	l := newLedger(testConfig(dir), zap.NewNop(), &consumertest.MetricsSink{})
	if err := l.Start(context.Background(), nil); err == nil {
		t.Fatal("second ledger started on a locked directory")
	}
}

func TestInvalidConfigIsReportedAtStart(t *testing.T) {
	// Every missing or impossible setting is named.
	cfg := &Config{}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"directory", "max_label_values", "producer_quota", "label_idle", "delivery_window", "max_streams", "max_stale", "folded_metric", "unused_metric"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := testConfig(filepath.Join(t.TempDir(), "x")).Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func nopLogger() *zap.Logger { return zap.NewNop() }
