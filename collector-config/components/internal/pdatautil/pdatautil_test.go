// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package pdatautil

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestNumberValue(t *testing.T) {
	dp := pmetric.NewNumberDataPoint()
	if got := NumberValue(dp); got != 0 {
		t.Errorf("empty point: %v", got)
	}
	dp.SetIntValue(7)
	if got := NumberValue(dp); got != 7 {
		t.Errorf("int point: %v", got)
	}
	dp.SetDoubleValue(2.5)
	if got := NumberValue(dp); got != 2.5 {
		t.Errorf("double point: %v", got)
	}
}

func TestPointCount(t *testing.T) {
	ms := pmetric.NewMetricSlice()
	ms.AppendEmpty() // no data
	gauge := ms.AppendEmpty().SetEmptyGauge().DataPoints()
	gauge.AppendEmpty()
	sum := ms.AppendEmpty().SetEmptySum().DataPoints()
	sum.AppendEmpty()
	sum.AppendEmpty()
	ms.AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	ms.AppendEmpty().SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	ms.AppendEmpty().SetEmptySummary().DataPoints().AppendEmpty()
	want := []int{0, 1, 2, 1, 1, 1}
	for i, w := range want {
		if got := PointCount(ms.At(i)); got != w {
			t.Errorf("metric %d (%s): %d points, want %d", i, ms.At(i).Type(), got, w)
		}
	}
}

func TestGetString(t *testing.T) {
	attrs := pcommon.NewMap()
	attrs.PutStr("s", "v")
	attrs.PutInt("i", 3)
	for key, want := range map[string]string{"s": "v", "i": "3", "absent": "", "": ""} {
		if got := GetString(attrs, key); got != want {
			t.Errorf("GetString(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestAsString(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("str", "v")
	m.PutStr("empty", "")
	m.PutInt("int", 3)
	m.PutDouble("double", 2.5)
	m.PutBool("bool", true)
	m.PutEmptyBytes("bytes").FromRaw([]byte{1, 2})
	m.PutEmptySlice("slice").AppendEmpty().SetStr("x")
	m.PutEmptyMap("map").PutStr("k", "v")
	m.PutEmpty("none")
	for k, v := range m.All() {
		if got, want := AsString(v), v.AsString(); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func BenchmarkAsString(b *testing.B) {
	v := pcommon.NewValueStr("backend-engineer")
	for b.Loop() {
		_ = AsString(v)
	}
}

func BenchmarkValueAsString(b *testing.B) {
	v := pcommon.NewValueStr("backend-engineer")
	for b.Loop() {
		_ = v.AsString()
	}
}

func TestCutUTF8(t *testing.T) {
	for _, tc := range []struct {
		s     string
		limit int
		want  string
	}{
		{"short", 8, "short"},
		{"exactly8", 8, "exactly8"},
		{"longer than eight", 8, "longer t"},
		{"ééééé", 3, "é"}, // é is two bytes: never half of one
		{"ééééé", 4, "éé"},
		{"whole", 0, "whole"},
		{"whole", -1, "whole"},
	} {
		if got := CutUTF8(tc.s, tc.limit); got != tc.want {
			t.Errorf("CutUTF8(%q, %d) = %q, want %q", tc.s, tc.limit, got, tc.want)
		}
	}
}
