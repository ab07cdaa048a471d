// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// originConfig reads origins as the hypertool config does, with a producer label on folds.
func originConfig(dir string) *Config {
	cfg := testConfig(dir)
	cfg.MaxLabelValues = 1000
	cfg.Origin = OriginNames{Delivery: "o.delivery", Producer: "o.producer", Instance: "o.instance"}
	cfg.UnusedMetric.Reasons.Duplicate = "duplicate"
	cfg.UnusedMetric.DuplicateProducer = "hypertool_agent"
	cfg.FoldedMetric.ProducerLabel = "producer"
	cfg.FoldedMetric.UnknownProducer = "unknown"
	cfg.FoldedMetric.MaxProducerBytes = 8
	return cfg
}

// from is one resource of delta points "tokens" with the given personas, from producer
// (name and instance) with the delivery id, each attribute left out when empty.
type from struct {
	delivery, name, instance string
}

func (f from) deltas(value float64, personas ...string) pmetric.Metrics {
	md := deltas(value, personas...)
	f.put(md.ResourceMetrics().At(0))
	return md
}

func (f from) put(rm pmetric.ResourceMetrics) {
	attrs := rm.Resource().Attributes()
	for k, v := range map[string]string{"o.delivery": f.delivery, "o.producer": f.name, "o.instance": f.instance} {
		if v != "" {
			attrs.PutStr(k, v)
		}
	}
}

// both is one request holding two resources.
func both(a, b pmetric.Metrics) pmetric.Metrics {
	b.ResourceMetrics().MoveAndAppendTo(a.ResourceMetrics())
	return a
}

func consume(t *testing.T, l *ledger, md pmetric.Metrics) {
	t.Helper()
	if err := l.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatalf("consume: %v", err)
	}
}

func want(t *testing.T, sink *consumertest.MetricsSink, expected map[string]float64) {
	t.Helper()
	got := totals(sink)
	for k, v := range expected {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// crash abandons l as SIGKILL would: no compaction, the lock released by the kernel.
func crash(l *ledger) {
	l.store.lock.Close()
	l.store.journal.Close()
}

func TestDuplicateInOneBatchCountsOnce(t *testing.T) {
	// The same delivery twice in one request: the second is a duplicate.
	l, sink := start(t, originConfig(t.TempDir()))
	p := from{delivery: "p1:1", name: "svc", instance: "i1"}
	consume(t, l, both(p.deltas(5, "a"), p.deltas(5, "a")))
	want(t, sink, map[string]float64{"tokens/a": 5, "unused/duplicate": 1})
}

func TestDuplicateAcrossBatchesIsAcknowledgedAndCounted(t *testing.T) {
	// A resend later on succeeds (so the sender deletes it) and adds nothing.
	l, sink := start(t, originConfig(t.TempDir()))
	p := from{delivery: "p1:1", name: "svc", instance: "i1"}
	consume(t, l, p.deltas(5, "a", "b"))
	consume(t, l, from{delivery: "p1:2", name: "svc", instance: "i1"}.deltas(1, "a"))
	consume(t, l, p.deltas(5, "a", "b"))
	consume(t, l, p.deltas(5, "a", "b"))
	want(t, sink, map[string]float64{"tokens/a": 6, "tokens/b": 5, "unused/duplicate": 4})
}

func TestDuplicateAfterARestartCountsOnce(t *testing.T) {
	// Deliveries survive a crash (journal) and a clean stop (snapshot).
	dir := t.TempDir()
	l, _ := start(t, originConfig(dir))
	consume(t, l, from{delivery: "p1:1"}.deltas(5, "a"))
	crash(l)

	again, sink := start(t, originConfig(dir))
	consume(t, again, from{delivery: "p1:1"}.deltas(5, "a"))
	consume(t, again, from{delivery: "p1:2"}.deltas(2, "a"))
	want(t, sink, map[string]float64{"tokens/a": 7, "unused/duplicate": 1})
	if err := again.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	third, sink3 := start(t, originConfig(dir))
	consume(t, third, from{delivery: "p1:2"}.deltas(2, "a"))
	consume(t, third, from{delivery: "p1:1"}.deltas(5, "a"))
	want(t, sink3, map[string]float64{"tokens/a": 7, "unused/duplicate": 3})
}

func TestOutOfOrderSequencesEachCountOnce(t *testing.T) {
	// Resent exports arrive after later ones: each sequence counts once, in any order.
	l, sink := start(t, originConfig(t.TempDir()))
	for _, seq := range []int{1, 4, 2, 6, 4, 3, 5, 1, 6} {
		consume(t, l, from{delivery: "p1:" + strconv.Itoa(seq)}.deltas(float64(seq), "a"))
	}
	want(t, sink, map[string]float64{"tokens/a": 21, "unused/duplicate": 3})
	if got := l.state.deliveries["p1"].Ranges; len(got) != 1 || got[0] != [2]uint64{1, 6} {
		t.Fatalf("applied %v, want the one range 1-6", got)
	}
}

func TestGapsAreBounded(t *testing.T) {
	// A sequence that never arrives leaves gaps; beyond maxGaps the oldest one closes.
	a := &applied{}
	for seq := uint64(2); seq < 2*maxGaps+10; seq += 2 {
		a.add(seq, 1)
	}
	if len(a.Ranges) > maxGaps {
		t.Fatalf("%d ranges kept, bound %d", len(a.Ranges), maxGaps)
	}
	if !a.has(2*maxGaps+8) || a.has(2*maxGaps+7) {
		t.Fatalf("the newest sequences and gaps must be exact: %v", a.Ranges[len(a.Ranges)-3:])
	}
}

func TestTornLineLosesItsDeltasAndItsDeliveriesTogether(t *testing.T) {
	// A line cut by a crash was never acknowledged: the resend counts, once.
	dir := t.TempDir()
	l, _ := start(t, originConfig(dir))
	consume(t, l, from{delivery: "p1:1"}.deltas(4, "a"))
	path := l.store.journalPath(l.store.generation)
	crash(l)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"deltas":[{"name":"tokens","kind":"sum","attributes":{"persona":"a"},"sum":3}],"deliveries":["p1:2"],"at":1`)
	f.Close()

	again, sink := start(t, originConfig(dir))
	want(t, sink, map[string]float64{"tokens/a": 4})
	consume(t, again, from{delivery: "p1:2"}.deltas(3, "a"))
	consume(t, again, from{delivery: "p1:2"}.deltas(3, "a"))
	want(t, sink, map[string]float64{"tokens/a": 7, "unused/duplicate": 1})
}

func TestDeliveriesExpireAfterTheWindow(t *testing.T) {
	// A process silent for longer than delivery_window is forgotten, across a restart too.
	dir := t.TempDir()
	cfg := originConfig(dir)
	cfg.DeliveryWindow = time.Hour
	now := time.Now().UnixNano()
	clock := func() int64 { return now }
	l := startClocked(t, cfg, clock)
	consume(t, l, from{delivery: "old:1"}.deltas(1, "a"))
	now += int64(30 * time.Minute)
	consume(t, l, from{delivery: "new:1"}.deltas(1, "a"))
	now += int64(45 * time.Minute)
	consume(t, l, from{delivery: "new:2"}.deltas(1, "a"))
	if _, ok := l.state.deliveries["old"]; ok {
		t.Fatal("a process silent for 75 min is still remembered while running, with a 1 h window")
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := startClocked(t, cfg, clock)
	if _, ok := again.state.deliveries["old"]; ok {
		t.Fatal("a process silent for 75 min is still remembered with a 1 h window")
	}
	if !again.state.deliveries.has(delivery{"new", 1}) {
		t.Fatal("a process seen 45 min ago is forgotten with a 1 h window")
	}
}

func TestExportsWithoutADeliveryIdCountAsBefore(t *testing.T) {
	// Foreign producers and older libraries send none; a malformed id is none either.
	l, sink := start(t, originConfig(t.TempDir()))
	for _, id := range []string{"", "", "no-sequence", "p:0", "p:x", ":3"} {
		consume(t, l, from{delivery: id, name: "svc"}.deltas(1, "a"))
	}
	want(t, sink, map[string]float64{"tokens/a": 6})
	if len(l.state.deliveries) != 0 {
		t.Fatalf("deliveries recorded from ids that are none: %v", l.state.deliveries)
	}
}

func TestOriginAttributesKeyNoStream(t *testing.T) {
	// Two producers' points of one label set add into one stream with no origin left.
	l, sink := start(t, originConfig(t.TempDir()))
	consume(t, l, from{delivery: "p1:1", name: "svc", instance: "i1"}.deltas(1, "a"))
	consume(t, l, from{delivery: "p2:1", name: "other-svc", instance: "i2"}.deltas(2, "a"))
	want(t, sink, map[string]float64{"tokens/a": 3})
	if len(l.state.streams) != 1 {
		t.Fatalf("%d streams, want 1", len(l.state.streams))
	}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for k := range rm.Resource().Attributes().All() {
				if k != "hypertool.aggregation" {
					t.Fatalf("resource attribute %s reached the exporter", k)
				}
			}
		}
	}
}

func startClocked(t *testing.T, cfg *Config, clock func() int64) *ledger {
	t.Helper()
	l := newLedger(cfg, nopLogger(), &consumertest.MetricsSink{})
	l.clock = clock
	if err := l.Start(context.Background(), nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	return l
}

// The unused counter's points carry the three labels of the shape every component shares:
// duplicates under DuplicateProducer, points beyond max_streams under UnknownProducer.
func TestUnusedPointsCarrySignalReasonAndProducer(t *testing.T) {
	cfg := originConfig(t.TempDir())
	cfg.MaxStreams = 1
	l, sink := start(t, cfg)
	p := from{delivery: "p1:1", name: "svc", instance: "i1"}
	consume(t, l, p.deltas(5, "a", "b")) // b: a second stream, beyond max_streams
	consume(t, l, p.deltas(5, "a"))      // a resend
	labels := map[string]map[string]string{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "unused" {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						attrs := map[string]string{}
						for k, v := range dp.Attributes().All() {
							attrs[k] = v.Str()
						}
						labels[attrs["reason"]] = attrs
					}
				}
			}
		}
	}
	for reason, producer := range map[string]string{"too_many_series": "unknown", "duplicate": "hypertool_agent"} {
		got := labels[reason]
		if len(got) != 3 || got["signal"] != "metrics" || got["producer"] != producer {
			t.Errorf("%s counted with %v, want signal=metrics producer=%s", reason, got, producer)
		}
	}
}
