// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package genaiconnector makes the fleet's usage series of every producer that is not
// the hypertool library: Claude Code and the GenAI instrumentations' usage metrics, the
// usage on the spans of producers that report it nowhere else, handoffs between agents,
// and the library's spans (stage, persona and call durations, workflow runs).
//
// It runs on a data table (Config) that `hypertool render` writes from the names
// contract, and prices usage that reports no cost from genai-prices' own data file. It
// writes delta sums and histograms for the ledger, one resource per producer, and counts
// everything it receives and does not use, by signal, reason and producer.
package genaiconnector

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
)

const typeStr = "genai"

// NewFactory returns the genai connector's factory.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		component.MustNewType(typeStr),
		func() component.Config { return createDefaultConfig() },
		connector.WithMetricsToMetrics(createMetrics, component.StabilityLevelAlpha),
		connector.WithTracesToMetrics(createTraces, component.StabilityLevelAlpha),
		connector.WithLogsToMetrics(createLogs, component.StabilityLevelAlpha),
	)
}

// One instance per component id: the cumulative state is shared by what it connects.
func instance(set connector.Settings, cfg component.Config, next consumer.Metrics) (*genai, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected config %T", typeStr, cfg)
	}
	return newGenai(c, set.Logger, next), nil
}

func createMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	return instance(set, cfg, next)
}

func createTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return instance(set, cfg, next)
}

func createLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	return instance(set, cfg, next)
}
