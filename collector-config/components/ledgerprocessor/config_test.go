// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
	"github.com/hypertool-observability/hypertool/collector/ledgerprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	unusedLabels := unused.Config{
		SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
		Signal: "metrics", UnknownProducer: "unknown",
	}
	minimalUnused := unusedLabels
	minimalUnused.Name = "unused"
	renderedUnused := unusedLabels
	renderedUnused.Name = "hypertool.pipeline.unused"
	renderedUnused.Description = "Metric points, spans and log records received and not used, by reason."
	renderedUnused.Unit = "{item}"

	tests := []struct {
		id       component.ID
		expected component.Config
		// errorMessages: each must be part of the error Validate returns.
		errorMessages []string
	}{
		{
			id: component.NewID(metadata.Type),
			expected: &Config{
				Directory:      "/var/lib/hypertool/ledger",
				MaxLabelValues: 1000,
				ProducerQuota:  100,
				LabelIdle:      24 * time.Hour,
				PinnedValues:   map[string][]string{"persona": {"backend-engineer", "data-scientist"}},
				DeliveryWindow: 192 * time.Hour,
				Origin: OriginNames{
					Delivery: "hypertool.ledger.delivery", Producer: "hypertool.ledger.producer", Instance: "hypertool.ledger.instance",
				},
				MaxStreams:   100_000,
				MaxStale:     768 * time.Hour,
				CompactBytes: 64 << 20,
				FoldValue:    "other",
				FoldedMetric: MetricNames{
					Name:        "hypertool.pipeline.folded_points",
					Description: "Points whose label value was beyond the distinct-value bounds, recorded as other.",
					Unit:        "{point}", MetricLabel: "metric", KeyLabel: "label",
					ProducerLabel: "producer", UnknownProducer: "unknown", MaxProducerBytes: 128,
				},
				UnusedMetric: UnusedNames{
					Config:            renderedUnused,
					Reasons:           UnusedReasons{TooManySeries: "too_many_series", Duplicate: "duplicate"},
					DuplicateProducer: "hypertool_agent",
				},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "minimal"),
			expected: &Config{
				Directory:      "ledger",
				MaxLabelValues: 1000,
				ProducerQuota:  100,
				LabelIdle:      24 * time.Hour,
				DeliveryWindow: 192 * time.Hour,
				MaxStreams:     100_000,
				MaxStale:       768 * time.Hour,
				CompactBytes:   64 << 20,
				FoldValue:      "other",
				FoldedMetric:   MetricNames{Name: "folded", MetricLabel: "metric", KeyLabel: "label"},
				UnusedMetric: UnusedNames{
					Config:  minimalUnused,
					Reasons: UnusedReasons{TooManySeries: "too_many_series"},
				},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "empty"),
			errorMessages: []string{
				"directory must be set",
				"max_label_values must be positive (got 0)",
				"producer_quota must be positive (got 0)",
				"label_idle must be positive (got 0s)",
				"delivery_window must be positive (got 0s)",
				"max_streams must be positive (got 0)",
				"max_stale must be positive (got 0s)",
				"compact_bytes must be positive (got 0)",
				"fold_value must be set",
				"folded_metric needs name, metric_label and key_label",
				"unused_metric: needs name, signal_label, reason_label, producer_label, signal, unknown_producer",
				"unused_metric: needs reasons.too_many_series",
			},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "folded_producer_incomplete"),
			errorMessages: []string{"folded_metric with a producer_label needs unknown_producer and a positive max_producer_bytes"},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "delivery_without_duplicate"),
			errorMessages: []string{"origin.delivery needs unused_metric.reasons.duplicate and unused_metric.duplicate_producer"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			t.Parallel()
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			if tt.expected == nil {
				err := confmap.Validate(cfg)
				require.Error(t, err)
				for _, msg := range tt.errorMessages {
					assert.ErrorContains(t, err, msg)
				}
				return
			}
			assert.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}
