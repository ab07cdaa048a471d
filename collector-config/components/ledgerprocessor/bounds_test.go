// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
)

func personas(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// folds reads the latest fold count per (label, producer) from the sink.
func folds(sink *consumertest.MetricsSink) map[string]float64 {
	out := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "folded" {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						label, _ := dp.Attributes().Get("label")
						producer, _ := dp.Attributes().Get("producer")
						out[label.AsString()+"/"+producer.AsString()] = dp.DoubleValue()
					}
				}
			}
		}
	}
	return out
}

var flood = from{name: "flooder", instance: "f1"}

func TestAProducerCannotUseUpTheBoundForOthers(t *testing.T) {
	// The flood gets its quota; a later producer's new value still counts under its name.
	cfg := originConfig(t.TempDir())
	cfg.ProducerQuota = 5
	cfg.MaxLabelValues = 20
	l, sink := start(t, cfg)
	consume(t, l, flood.deltas(1, personas("flood", 3000)...))
	consume(t, l, from{name: "agent", instance: "a1"}.deltas(7, "fresh"))
	want(t, sink, map[string]float64{"tokens/fresh": 7, "tokens/other": 2995})
	if got := folds(sink); got["persona/flooder"] != 2995 || len(got) != 1 {
		t.Fatalf("folds %v, want 2995 from flooder", got)
	}
}

func TestAProducerIsOneInstanceOfOneService(t *testing.T) {
	// Two instances of one service each have a quota; so do two services.
	cfg := originConfig(t.TempDir())
	cfg.ProducerQuota = 2
	l, sink := start(t, cfg)
	consume(t, l, from{name: "svc", instance: "1"}.deltas(1, "a", "b", "c"))
	consume(t, l, from{name: "svc", instance: "2"}.deltas(1, "d", "e", "f"))
	consume(t, l, from{name: "svc2", instance: "1"}.deltas(1, "g", "h", "i"))
	got := totals(sink)
	if got["tokens/other"] != 3 || got["tokens/a"] != 1 || got["tokens/e"] != 1 || got["tokens/h"] != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestValuesAlreadyInUseAreKeptForAnyProducer(t *testing.T) {
	// A value another producer brought in costs no quota.
	cfg := originConfig(t.TempDir())
	cfg.ProducerQuota = 1
	l, sink := start(t, cfg)
	consume(t, l, from{name: "one"}.deltas(1, "a", "b"))
	consume(t, l, from{name: "two"}.deltas(1, "b", "a"))
	want(t, sink, map[string]float64{"tokens/a": 2, "tokens/b": 1, "tokens/other": 1})
}

func TestTheFleetBoundHoldsWhateverTheQuotas(t *testing.T) {
	// Many producers within their quotas still make no more than max_label_values values.
	cfg := originConfig(t.TempDir())
	cfg.ProducerQuota = 10
	cfg.MaxLabelValues = 25
	l, sink := start(t, cfg)
	for i := 0; i < 10; i++ {
		consume(t, l, from{name: "svc", instance: fmt.Sprint(i)}.deltas(1, personas(fmt.Sprint(i), 10)...))
	}
	want(t, sink, map[string]float64{"tokens/other": 75})
	if n := len(l.state.bounds.sets[[2]string{"tokens", "persona"}].values); n != 25 {
		t.Fatalf("%d values in use, bound 25", n)
	}
}

func TestPinnedValuesAreAlwaysKept(t *testing.T) {
	// Budgeted names count under their own name with the bound and the quota used up.
	cfg := originConfig(t.TempDir())
	cfg.MaxLabelValues = 3
	cfg.ProducerQuota = 2
	cfg.PinnedValues = map[string][]string{"persona": {"budgeted"}}
	l, sink := start(t, cfg)
	consume(t, l, flood.deltas(1, personas("flood", 10)...))
	consume(t, l, flood.deltas(5, "budgeted"))
	consume(t, l, from{name: "agent"}.deltas(6, "budgeted"))
	want(t, sink, map[string]float64{"tokens/budgeted": 11, "tokens/other": 8})
}

func TestAnIdleValueLeavesTheBoundAndComesBackWithItsTotal(t *testing.T) {
	// After label_idle the value's place is free; its stream keeps its total, and goes on
	// from it when the value is admitted again.
	cfg := originConfig(t.TempDir())
	cfg.MaxLabelValues = 2
	cfg.LabelIdle = time.Hour
	now := time.Now().UnixNano()
	l := startClocked(t, cfg, func() int64 { return now })
	sink := l.next.(*consumertest.MetricsSink)
	consume(t, l, from{name: "a"}.deltas(10, "old", "kept"))
	now += int64(50 * time.Minute)
	consume(t, l, from{name: "a"}.deltas(1, "kept"))
	consume(t, l, from{name: "a"}.deltas(1, "new"))
	want(t, sink, map[string]float64{"tokens/other": 1}) // old is not idle yet
	now += int64(20 * time.Minute)
	consume(t, l, from{name: "b"}.deltas(2, "new")) // old idle 70 min: its place is free
	consume(t, l, from{name: "b"}.deltas(3, "old")) // kept is in use: old finds no place
	want(t, sink, map[string]float64{"tokens/new": 2, "tokens/old": 10, "tokens/other": 4})
	now += int64(2 * time.Hour)
	consume(t, l, from{name: "b"}.deltas(5, "old"))
	want(t, sink, map[string]float64{"tokens/old": 15})
}

func TestIdleIsMeasuredFromTheStreamsAfterARestart(t *testing.T) {
	// Owners are forgotten by a restart; the values keep their place and their last use.
	dir := t.TempDir()
	cfg := originConfig(dir)
	cfg.MaxLabelValues = 2
	cfg.ProducerQuota = 2
	cfg.LabelIdle = time.Hour
	now := time.Now().UnixNano()
	clock := func() int64 { return now }
	l := startClocked(t, cfg, clock)
	consume(t, l, flood.deltas(1, "a", "b"))
	crash(l)
	now += int64(10 * time.Minute)
	again := startClocked(t, cfg, clock)
	sink := again.next.(*consumertest.MetricsSink)
	consume(t, again, from{name: "c"}.deltas(1, "c"))
	want(t, sink, map[string]float64{"tokens/other": 1})
	consume(t, again, flood.deltas(1, "x")) // the flooder's quota is free again, the fleet's is not
	want(t, sink, map[string]float64{"tokens/other": 2})
	now += int64(2 * time.Hour)
	consume(t, again, from{name: "c"}.deltas(1, "c"))
	want(t, sink, map[string]float64{"tokens/c": 1, "tokens/a": 1})
}

func TestTheFoldCountersProducerLabelIsCutAndBounded(t *testing.T) {
	// Long service names are cut; beyond max_label_values producers, they fold too.
	cfg := originConfig(t.TempDir())
	cfg.MaxLabelValues = 2
	cfg.ProducerQuota = 1
	l, sink := start(t, cfg)
	consume(t, l, from{name: "a-very-long-service-name"}.deltas(1, "a", "x1"))
	consume(t, l, from{}.deltas(1, "b", "x2"))
	consume(t, l, from{name: "third"}.deltas(1, "x3"))
	got := folds(sink)
	// Two producer values fit; the third producer's folds count under other.
	wantFolds := map[string]float64{"persona/a-very-l": 1, "persona/unknown": 1, "persona/other": 1}
	if len(got) != len(wantFolds) {
		t.Fatalf("folds %v, want %v", got, wantFolds)
	}
	for k, v := range wantFolds {
		if got[k] != v {
			t.Fatalf("folds %v, want %v", got, wantFolds)
		}
	}
}
