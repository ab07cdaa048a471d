// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import "go.opentelemetry.io/otel/metric"

func metricDescription(d string) metric.Int64CounterOption { return metric.WithDescription(d) }
func metricUnit(u string) metric.Int64CounterOption        { return metric.WithUnit(u) }
