// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/hypertool-observability/hypertool/collector/admissionprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	names := Names{
		RefusedMetric: "otelcol_admission_refused_items", Unit: "{item}",
		SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
		OverFairShare: "over_fair_share", SharedRequest: "shared_request",
		Anonymous: "anonymous", Other: "other",
	}
	rendered := names
	rendered.Description = "Items refused by the admission processor, by signal, reason and producer."
	rendered.MaxLabelValues = 1000
	disabled := names
	disabled.MaxLabelValues = 100 // the default

	tests := []struct {
		id       component.ID
		expected component.Config
		// errorMessages: each must be part of the error Validate returns.
		errorMessages []string
	}{
		{
			id: component.NewID(metadata.Type),
			expected: &Config{
				Enabled:         true,
				MemoryLimitMiB:  512,
				PressurePercent: 50,
				ReleasePercent:  40,
				ReleaseAfter:    time.Second,
				CollectPercent:  65,
				MinRate:         1000,
				HalfLife:        time.Second,
				CheckInterval:   100 * time.Millisecond,
				MaxProducers:    10_000,
				IdleAfter:       time.Minute,
				Names:           rendered,
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "disabled"),
			expected: &Config{
				Enabled:         false,
				MemoryLimitMiB:  512,
				PressurePercent: 50,
				ReleasePercent:  40,
				ReleaseAfter:    time.Second,
				CollectPercent:  65,
				MinRate:         1000,
				HalfLife:        time.Second,
				CheckInterval:   100 * time.Millisecond,
				MaxProducers:    10_000,
				IdleAfter:       time.Minute,
				Names:           disabled,
			},
		},
		{
			id:            component.NewIDWithName(metadata.Type, "no_names"),
			errorMessages: []string{"names needs refused_metric, signal_label, reason_label and producer_label"},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_thresholds"),
			errorMessages: []string{
				"memory_limit_mib must be positive",
				"release_percent must be in 1..pressure_percent (got 60, pressure_percent 50)",
				"collect_percent must be 0 or in pressure_percent..100 (got 40)",
				"release_after must not be negative (got -1s)",
				"min_rate must not be negative (got -1)",
				"half_life must be positive (got 0s)",
				"check_interval must be positive (got 0s)",
				"max_producers must be positive (got 0)",
				"idle_after must be positive (got 0s)",
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "other_metric_name"),
			errorMessages: []string{
				`names.refused_metric and names.unit must be otelcol_admission_refused_items and {item}, as metadata.yaml declares the counter (got admission_refused and "{item}")`,
			},
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
