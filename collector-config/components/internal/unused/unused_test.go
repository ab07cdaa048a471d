// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package unused

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func testConfig() *Config {
	return &Config{
		Name: "hypertool.pipeline.unused", Description: "Not used.", Unit: "{item}",
		SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
		Signal: "metrics", UnknownProducer: "unknown",
	}
}

func TestCheckNamesEveryMissingField(t *testing.T) {
	if err := testConfig().Check(); err != nil {
		t.Fatalf("a whole config: %v", err)
	}
	err := (&Config{Name: "x", ReasonLabel: "reason"}).Check()
	if err == nil {
		t.Fatal("an incomplete config passed")
	}
	if want := "needs signal_label, producer_label, signal, unknown_producer"; err.Error() != want {
		t.Fatalf("Check() = %q, want %q", err, want)
	}
}

func TestLabels(t *testing.T) {
	cfg := testConfig()
	want := map[string]string{"signal": "metrics", "reason": "too_many_series", "producer": "unknown"}
	if got := cfg.Labels("too_many_series", ""); !reflect.DeepEqual(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
	want["producer"] = "agent"
	if got := cfg.Labels("too_many_series", "agent"); !reflect.DeepEqual(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
}

func TestCountsAppendOneDeltaSumByReasonAndProducer(t *testing.T) {
	cfg := testConfig()
	counts := NewCounts(cfg)
	sm := pmetric.NewScopeMetrics()
	counts.AppendTo(sm, 1)
	if sm.Metrics().Len() != 0 {
		t.Fatal("empty counts appended a metric")
	}
	counts.Add("negative", "a", 1)
	counts.Add("negative", "a", 2)
	counts.Add("negative", "", 1)
	counts.Add("negative", "unknown", 1) // the same label values: one count
	counts.Add("not_usage", "a", 0)      // nothing counted, no point
	if counts.Len() != 2 || counts.Get("negative", "a") != 3 {
		t.Fatalf("counts: len %d, negative/a %v", counts.Len(), counts.Get("negative", "a"))
	}
	counts.AppendTo(sm, pcommon.Timestamp(42))
	if sm.Metrics().Len() != 1 {
		t.Fatalf("%d metrics, want 1", sm.Metrics().Len())
	}
	m := sm.Metrics().At(0)
	if m.Name() != cfg.Name || m.Unit() != cfg.Unit || m.Description() != cfg.Description {
		t.Errorf("metric %q %q %q", m.Name(), m.Unit(), m.Description())
	}
	if m.Type() != pmetric.MetricTypeSum || !m.Sum().IsMonotonic() ||
		m.Sum().AggregationTemporality() != pmetric.AggregationTemporalityDelta {
		t.Fatalf("not a delta monotonic sum: %s", m.Type())
	}
	got := map[string]float64{}
	for _, dp := range m.Sum().DataPoints().All() {
		if dp.Timestamp() != 42 {
			t.Errorf("timestamp %d", dp.Timestamp())
		}
		var labels []string
		for _, k := range []string{"signal", "reason", "producer"} {
			v, _ := dp.Attributes().Get(k)
			labels = append(labels, v.Str())
		}
		got[strings.Join(labels, "/")] = dp.DoubleValue()
	}
	want := map[string]float64{"metrics/negative/a": 3, "metrics/negative/unknown": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("points %v, want %v", got, want)
	}
	ranged := map[string]float64{}
	counts.Range(func(labels map[string]string, n float64) {
		ranged[labels["signal"]+"/"+labels["reason"]+"/"+labels["producer"]] = n
	})
	if !reflect.DeepEqual(ranged, want) {
		t.Errorf("Range %v, want %v", ranged, want)
	}
}

func TestBadValueNamesTheReason(t *testing.T) {
	for v, want := range map[float64]string{
		math.NaN(): "nan", -1: "neg", 11: "big", math.Inf(1): "big", 10: "", 0: "",
	} {
		if got := BadValue(v, 10, "nan", "neg", "big"); got != want {
			t.Errorf("BadValue(%v) = %q, want %q", v, got, want)
		}
	}
}
