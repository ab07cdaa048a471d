// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"errors"
	"fmt"
	"time"
)

// Config of the admission processor. The hypertool collector config sets each field from
// ${env:...}; the defaults below are the ones it documents.
type Config struct {
	// Enabled false admits everything: the benchmarks' "before", and a way out.
	Enabled bool `mapstructure:"enabled"`
	// MemoryLimitMiB is the collector's memory limit, the memory_limiter's limit_mib: the
	// thresholds below are shares of it, so that one setting moves both.
	MemoryLimitMiB uint32 `mapstructure:"memory_limit_mib"`
	// PressurePercent: with the heap in use at or above this share of the limit, producers
	// over their fair share are refused. It must sit below the memory_limiter's soft limit
	// (limit minus spike), which refuses everyone.
	PressurePercent uint32 `mapstructure:"pressure_percent"`
	// ReleasePercent and ReleaseAfter: fairness stays on until the heap has stayed below
	// this share for this long. While a flood goes on, the garbage its refused requests
	// leave keeps the heap above it; let in again at the first dip, the flood's next
	// requests would lift the heap past the memory_limiter's threshold before the next
	// sample.
	ReleasePercent uint32        `mapstructure:"release_percent"`
	ReleaseAfter   time.Duration `mapstructure:"release_after"`
	// CollectPercent: under pressure, the garbage collector keeps the heap in use under
	// this share of the limit (0: it is left alone). Refused requests are decoded before
	// any processor sees them; their garbage, collected at the usual pace, alone lifts the
	// heap over the memory_limiter's threshold, which then refuses everyone. Only under
	// pressure, so it costs no CPU the rest of the time.
	CollectPercent uint32 `mapstructure:"collect_percent"`
	// MinRate: items per second (points, spans, log records) a producer is never refused
	// for, whatever its share: an agent's exports stay far below it.
	MinRate float64 `mapstructure:"min_rate"`
	// HalfLife of each producer's decayed rate: how fast a flood that stopped is forgiven.
	HalfLife time.Duration `mapstructure:"half_life"`
	// CheckInterval between samples of the heap, and between fair-share updates.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// MaxProducers bounds the table of producers; beyond it new producers share one entry
	// (and one rate), so spreading a flood over many identities does not escape the share.
	MaxProducers int `mapstructure:"max_producers"`
	// IdleAfter: a producer not heard from for this long leaves the table.
	IdleAfter time.Duration `mapstructure:"idle_after"`

	// The names this processor writes, from the hypertool names contract.
	Names Names `mapstructure:"names"`
}

// The counter of refused items, in the collector's own telemetry, is declared in
// metadata.yaml (telemetry.metrics.admission_refused_items) and registered by mdatagen's
// TelemetryBuilder under these names: Names.RefusedMetric and Names.Unit, rendered from
// hypertool's names contract, must be them.
const (
	refusedMetric = "otelcol_admission_refused_items"
	refusedUnit   = "{item}"
)

// Names of the counter of refused items and of its labels' values.
type Names struct {
	// RefusedMetric counts refused items in the collector's own telemetry. It must be
	// otelcol_admission_refused_items, and Unit "{item}": metadata.yaml declares the
	// counter so. Description is documentation only: the counter's is metadata.yaml's.
	RefusedMetric string `mapstructure:"refused_metric"`
	Description   string `mapstructure:"description"`
	Unit          string `mapstructure:"unit"`
	// Label keys.
	SignalLabel   string `mapstructure:"signal_label"`
	ReasonLabel   string `mapstructure:"reason_label"`
	ProducerLabel string `mapstructure:"producer_label"`
	// Reasons: the producer was over its fair share, or came in one request with one that was.
	OverFairShare string `mapstructure:"over_fair_share"`
	SharedRequest string `mapstructure:"shared_request"`
	// Anonymous is the producer label of a resource without service.name.
	Anonymous string `mapstructure:"anonymous"`
	// Other is the producer label beyond MaxLabelValues distinct ones.
	Other          string `mapstructure:"other"`
	MaxLabelValues int    `mapstructure:"max_label_values"`
}

func createDefaultConfig() *Config {
	return &Config{
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
		// The names come from the hypertool names contract, through the config it renders.
		Names: Names{MaxLabelValues: 100},
	}
}

// Validate reports every configuration error at start, never at run time.
func (c *Config) Validate() error {
	var errs []error
	if c.MemoryLimitMiB == 0 {
		errs = append(errs, errors.New("memory_limit_mib must be positive"))
	}
	if c.PressurePercent == 0 || c.PressurePercent > 100 {
		errs = append(errs, fmt.Errorf("pressure_percent must be in 1..100 (got %d)", c.PressurePercent))
	}
	if c.ReleasePercent == 0 || c.ReleasePercent > c.PressurePercent {
		errs = append(errs, fmt.Errorf("release_percent must be in 1..pressure_percent (got %d, pressure_percent %d)", c.ReleasePercent, c.PressurePercent))
	}
	if c.CollectPercent != 0 && (c.CollectPercent < c.PressurePercent || c.CollectPercent > 100) {
		errs = append(errs, fmt.Errorf("collect_percent must be 0 or in pressure_percent..100 (got %d)", c.CollectPercent))
	}
	if c.ReleaseAfter < 0 {
		errs = append(errs, fmt.Errorf("release_after must not be negative (got %s)", c.ReleaseAfter))
	}
	if c.MinRate < 0 {
		errs = append(errs, fmt.Errorf("min_rate must not be negative (got %g)", c.MinRate))
	}
	if c.HalfLife <= 0 {
		errs = append(errs, fmt.Errorf("half_life must be positive (got %s)", c.HalfLife))
	}
	if c.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("check_interval must be positive (got %s)", c.CheckInterval))
	}
	if c.MaxProducers <= 0 {
		errs = append(errs, fmt.Errorf("max_producers must be positive (got %d)", c.MaxProducers))
	}
	if c.IdleAfter <= 0 {
		errs = append(errs, fmt.Errorf("idle_after must be positive (got %s)", c.IdleAfter))
	}
	return errors.Join(append(errs, c.Names.validate())...)
}

func (n *Names) validate() error {
	if n.RefusedMetric == "" || n.SignalLabel == "" || n.ReasonLabel == "" || n.ProducerLabel == "" {
		return errors.New("names needs refused_metric, signal_label, reason_label and producer_label")
	}
	if n.RefusedMetric != refusedMetric || n.Unit != refusedUnit {
		return fmt.Errorf("names.refused_metric and names.unit must be %s and %s, as metadata.yaml declares the counter (got %s and %q)",
			refusedMetric, refusedUnit, n.RefusedMetric, n.Unit)
	}
	if n.OverFairShare == "" || n.SharedRequest == "" || n.Anonymous == "" || n.Other == "" {
		return errors.New("names needs over_fair_share, shared_request, anonymous and other")
	}
	if n.MaxLabelValues <= 0 {
		return fmt.Errorf("names.max_label_values must be positive (got %d)", n.MaxLabelValues)
	}
	return nil
}
