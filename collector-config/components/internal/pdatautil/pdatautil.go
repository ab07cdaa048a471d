// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package pdatautil reads pdata the way every hypertool component does.
package pdatautil // import "github.com/hypertool-observability/hypertool/collector/internal/pdatautil"

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// NumberValue is a number point's value as a float64, whether it holds an int or a double
// (an empty point is 0).
func NumberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// PointCount is the number of data points of m, whatever its type (0 for a metric with
// no data).
func PointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// AsString is v.AsString(). Attribute values are nearly always strings, which it reads
// with one type check instead of AsString's two (Type's switch, then Str's).
func AsString(v pcommon.Value) string {
	if s := v.Str(); s != "" || v.Type() == pcommon.ValueTypeStr {
		return s
	}
	return v.AsString()
}

// GetString is the attribute key of attrs as a string (pcommon.Value.AsString), or ""
// if key is "" or absent.
func GetString(attrs pcommon.Map, key string) string {
	if key == "" {
		return ""
	}
	if v, ok := attrs.Get(key); ok {
		return AsString(v)
	}
	return ""
}

// CutUTF8 shortens s to at most limit bytes without splitting a UTF-8 character, as the
// hypertool library cuts its label values. A limit <= 0 leaves s whole.
func CutUTF8(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}
