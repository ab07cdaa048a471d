// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/hypertool-observability/hypertool/collector/genaiconnector/internal/metadata"
)

// NewFactory returns the genai connector's factory.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		connector.WithMetricsToMetrics(createMetrics, metadata.MetricsToMetricsStability),
		connector.WithTracesToMetrics(createTraces, metadata.TracesToMetricsStability),
		connector.WithLogsToMetrics(createLogs, metadata.LogsToMetricsStability),
	)
}

// instance makes one connector per pipeline pair (metrics, traces, logs to metrics), as
// the collector asks for each: only the metrics one keeps cumulative state, and each
// loads the price book at its start.
func instance(set connector.Settings, cfg component.Config, next consumer.Metrics) (*genai, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected config %T", metadata.Type, cfg)
	}
	return newGenai(c, set.Logger, next), nil
}

func createMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	return instance(set, cfg, next)
}

func createTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	g, err := instance(set, cfg, next)
	if err != nil {
		return nil, err
	}
	g.tracksAgents()
	return g, nil
}

func createLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	return instance(set, cfg, next)
}
