// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/hypertool-observability/hypertool/collector/admissionprocessor/internal/metadatatest"
)

// The refused items reach the collector's own telemetry as they always have: the counter
// otelcol_admission_refused_items, unit {item}, with the signal, reason and producer
// labels the config names (Prometheus: otelcol_admission_refused_items_total), now
// registered by mdatagen's builder from metadata.yaml.
func TestRefusedItemsAreCountedInTheCollectorsTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	set.ID = component.NewIDWithName(set.ID.Type(), "telemetry")
	cfg := testConfig()
	cfg.MemoryLimitMiB = 100
	ctx := context.Background()
	mp, err := NewFactory().CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(ctx)) })
	shared := mp.(*metricsGate).shared
	var heap atomic.Uint64
	shared.admitter.memory = func() memory { return memory{heap: heap.Load()} }
	shared.admitter.gc = nil
	heap.Store(60 * mib)
	shared.admitter.refresh()

	// Its first export is never a flood (a request's own size does not count against it);
	// the next, at twice the fair share, is refused.
	require.NoError(t, mp.ConsumeMetrics(ctx, anonymousPoints(5000)))
	err = mp.ConsumeMetrics(ctx, anonymousPoints(5000))
	require.True(t, errors.Is(err, errOverFairShare), "the anonymous flood: %v", err)

	require.Equal(t, refusedMetric, cfg.Names.RefusedMetric)
	metadatatest.AssertEqualAdmissionRefusedItems(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(
			attribute.String("signal", "metrics"),
			attribute.String("reason", "over_fair_share"),
			attribute.String("producer", "anonymous"),
		),
		Value: 5000,
	}}, metricdatatest.IgnoreTimestamp())
	got, err := tel.GetMetric(refusedMetric)
	require.NoError(t, err)
	require.Equal(t, refusedUnit, got.Unit)
}
