// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/hypertool-observability/hypertool/collector/admissionprocessor/internal/metadata"
)

// NewFactory returns the admission processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
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
