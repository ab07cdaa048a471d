// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package ledgerprocessor keeps the fleet's running totals on disk.
//
// It replaces delta_to_cumulative at the end of hypertool's pipeline. Each delta it is
// handed is appended to a journal before it is added and before the call returns, so
// once the OTLP receiver has acknowledged an export its usage is on disk: a collector
// killed at any moment restarts with the same totals, the same start times, and nothing
// for Prometheus to read as a reset. Deltas are added under one lock in any order, so no
// upstream component has to order them. An export that carries a delivery id is applied
// once, however often it is resent: the ids applied are journaled in the same line as
// the deltas. It also bounds the distinct values in use of each label of each metric,
// fleet-wide and per producer, folding new values beyond the bounds into one value.
package ledgerprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
)

const typeStr = "ledger"

// NewFactory returns the ledger processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		component.MustNewType(typeStr),
		func() component.Config { return createDefaultConfig() },
		processor.WithMetrics(createMetrics, component.StabilityLevelAlpha),
	)
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return newLedger(cfg.(*Config), set.Logger, next), nil
}
