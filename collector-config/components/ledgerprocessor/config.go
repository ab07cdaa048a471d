// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"errors"
	"fmt"
	"time"
)

// Config of the ledger processor. Every field has a meaning an operator can act on; the
// hypertool collector config sets them from ${env:...} with the defaults below.
type Config struct {
	// Directory holds the snapshot and the journal. Only one collector may use it at a
	// time (it is locked).
	Directory string `mapstructure:"directory"`
	// Fsync makes every journal append wait for the disk. Off, an append survives the
	// collector's own crash (SIGKILL, out of memory) but not a power loss.
	Fsync bool `mapstructure:"fsync"`
	// MaxLabelValues bounds the distinct values of each label of each metric, fleet-wide.
	// New values beyond it are recorded as FoldValue, so totals stay exact.
	MaxLabelValues int `mapstructure:"max_label_values"`
	// MaxStreams bounds the streams held. Points of a new stream beyond it are dropped and
	// counted in UnusedMetric.
	MaxStreams int `mapstructure:"max_streams"`
	// MaxStale forgets a stream not updated for this long (its total leaves the exporter).
	MaxStale time.Duration `mapstructure:"max_stale"`
	// CompactBytes: a journal larger than this is folded into a new snapshot.
	CompactBytes int64 `mapstructure:"compact_bytes"`

	// The names this processor writes, from the hypertool names contract.
	FoldValue    string      `mapstructure:"fold_value"`
	FoldedMetric MetricNames `mapstructure:"folded_metric"`
	UnusedMetric UnusedNames `mapstructure:"unused_metric"`
}

// MetricNames names the counter of points whose label value was folded.
type MetricNames struct {
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	// Label keys: the folded metric's name and the folded label's key.
	MetricLabel string `mapstructure:"metric_label"`
	KeyLabel    string `mapstructure:"key_label"`
}

// UnusedNames names the series that counts points dropped for exceeding MaxStreams.
type UnusedNames struct {
	Name        string            `mapstructure:"name"`
	Description string            `mapstructure:"description"`
	Unit        string            `mapstructure:"unit"`
	Labels      map[string]string `mapstructure:"labels"`
}

func createDefaultConfig() *Config {
	return &Config{
		MaxLabelValues: 100,
		MaxStreams:     100_000,
		MaxStale:       768 * time.Hour,
		CompactBytes:   64 << 20,
		FoldValue:      "other",
	}
}

// Validate reports every configuration error at start, never at run time.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory must be set"))
	}
	if c.MaxLabelValues <= 0 {
		errs = append(errs, fmt.Errorf("max_label_values must be positive (got %d)", c.MaxLabelValues))
	}
	if c.MaxStreams <= 0 {
		errs = append(errs, fmt.Errorf("max_streams must be positive (got %d)", c.MaxStreams))
	}
	if c.MaxStale <= 0 {
		errs = append(errs, fmt.Errorf("max_stale must be positive (got %s)", c.MaxStale))
	}
	if c.CompactBytes <= 0 {
		errs = append(errs, fmt.Errorf("compact_bytes must be positive (got %d)", c.CompactBytes))
	}
	if c.FoldValue == "" {
		errs = append(errs, errors.New("fold_value must be set"))
	}
	if c.FoldedMetric.Name == "" || c.FoldedMetric.MetricLabel == "" || c.FoldedMetric.KeyLabel == "" {
		errs = append(errs, errors.New("folded_metric needs name, metric_label and key_label"))
	}
	if c.UnusedMetric.Name == "" {
		errs = append(errs, errors.New("unused_metric needs a name"))
	}
	return errors.Join(errs...)
}
