// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/hypertool-observability/hypertool/collector/agentsumsconnector/internal/metadata"
)

// NewFactory returns the agent_sums connector's factory.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		connector.WithMetricsToMetrics(createMetricsToMetrics, metadata.MetricsToMetricsStability),
	)
}

func createMetricsToMetrics(_ context.Context, _ connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	router, ok := next.(connector.MetricsRouterAndConsumer)
	if !ok {
		return nil, fmt.Errorf("%s: expected a router to its pipelines, got %T", metadata.Type, next)
	}
	return newConnector(cfg.(*Config), router)
}
