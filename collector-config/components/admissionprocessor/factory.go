// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package admissionprocessor refuses, under memory pressure, the producers that send more
// than their fair share, before the memory_limiter refuses everyone.
//
// The memory_limiter is one gate for all: at its limit it refuses a flood and a
// well-behaved agent alike. This processor sits first in each pipeline fed by the OTLP
// receiver. It keeps a decayed rate of items (points, spans, log records) per producer,
// a producer being a resource's service.name and service.instance.id, and samples the
// heap in the background. While the heap is above a pressure threshold set below the
// memory_limiter's, a request from a producer whose rate is above the mean of the
// producers heard from recently (half of everything for a producer alone) and above a
// floor no agent reaches is refused with a retryable error, and counted with the reason
// and the producer in the collector's own telemetry; meanwhile the Go runtime's memory
// limit holds the heap under a target. The flood's work then stops at its decoding, and
// the heap stays below the memory_limiter's threshold.
package admissionprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

const (
	typeStr   = "admission"
	scopeName = "github.com/hypertool-observability/hypertool/collector/admissionprocessor"
)

// NewFactory returns the admission processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		component.MustNewType(typeStr),
		func() component.Config { return createDefaultConfig() },
		processor.WithMetrics(createMetrics, component.StabilityLevelAlpha),
		processor.WithTraces(createTraces, component.StabilityLevelAlpha),
		processor.WithLogs(createLogs, component.StabilityLevelAlpha),
	)
}

func newGate(set processor.Settings, cfg component.Config, signal string) (gate, error) {
	shared, err := sharedFor(set, cfg.(*Config))
	return gate{shared: shared, signal: signal}, err
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	g, err := newGate(set, cfg, "metrics")
	return &metricsGate{gate: g, next: next}, err
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	g, err := newGate(set, cfg, "traces")
	return &tracesGate{gate: g, next: next}, err
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	g, err := newGate(set, cfg, "logs")
	return &logsGate{gate: g, next: next}, err
}
