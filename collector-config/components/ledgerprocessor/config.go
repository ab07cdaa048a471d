// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"errors"
	"fmt"
	"time"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
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
	// MaxLabelValues bounds the distinct values in use of each label of each metric,
	// fleet-wide (PinnedValues aside). New values beyond it are recorded as FoldValue, so
	// totals stay exact.
	MaxLabelValues int `mapstructure:"max_label_values"`
	// ProducerQuota bounds the new values one producer (Origin's producer and instance)
	// may bring into the bound of each label of each metric: one producer cannot use up
	// MaxLabelValues for the others.
	ProducerQuota int `mapstructure:"producer_quota"`
	// LabelIdle: a value no point has carried for this long leaves the bound (its streams
	// keep their totals, and continue from them if it is admitted again).
	LabelIdle time.Duration `mapstructure:"label_idle"`
	// PinnedValues, per label key, are always kept and count toward no bound: the names
	// budgets are set for.
	PinnedValues map[string][]string `mapstructure:"pinned_values"`
	// DeliveryWindow: how long the deliveries applied of a process are remembered after
	// its last one. A resend later than this would count again.
	DeliveryWindow time.Duration `mapstructure:"delivery_window"`
	// Origin names the resource attributes that say which export and which producer a
	// batch of deltas came from. They are removed before a stream is keyed.
	Origin OriginNames `mapstructure:"origin"`
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

// OriginNames are resource attribute keys; an empty key is not read.
type OriginNames struct {
	// Delivery holds "<process>:<sequence>": each is applied once.
	Delivery string `mapstructure:"delivery"`
	// Producer and Instance identify the producer for ProducerQuota; Producer is also
	// the producer label of FoldedMetric.
	Producer string `mapstructure:"producer"`
	Instance string `mapstructure:"instance"`
}

// MetricNames names the counter of points whose label value was folded.
type MetricNames struct {
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	// Label keys: the folded metric's name and the folded label's key.
	MetricLabel string `mapstructure:"metric_label"`
	KeyLabel    string `mapstructure:"key_label"`
	// ProducerLabel, if set, names who sent the folded points (Origin's producer, cut
	// to MaxProducerBytes; itself bounded by MaxLabelValues, beyond it FoldValue).
	ProducerLabel string `mapstructure:"producer_label"`
	// UnknownProducer stands for points with no producer.
	UnknownProducer  string `mapstructure:"unknown_producer"`
	MaxProducerBytes int    `mapstructure:"max_producer_bytes"`
}

// UnusedNames is the counter of points received and not used (the shape every hypertool
// component shares, internal/unused), with this processor's reasons. The points it counts
// never have a producer of their own: those beyond MaxStreams are counted under
// UnknownProducer, those of a delivery applied before under DuplicateProducer.
type UnusedNames struct {
	unused.Config `mapstructure:",squash"`
	Reasons       UnusedReasons `mapstructure:"reasons"`
	// DuplicateProducer is the producer label of duplicates: only the hypertool library's
	// exports carry a delivery id.
	DuplicateProducer string `mapstructure:"duplicate_producer"`
}

// UnusedReasons are the reason label's values.
type UnusedReasons struct {
	// A point that would open a stream beyond MaxStreams.
	TooManySeries string `mapstructure:"too_many_series"`
	// A point of a delivery applied before (with Origin.Delivery only).
	Duplicate string `mapstructure:"duplicate"`
}

func createDefaultConfig() *Config {
	return &Config{
		MaxLabelValues: 1000,
		ProducerQuota:  100,
		LabelIdle:      24 * time.Hour,
		DeliveryWindow: 192 * time.Hour,
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
	if c.ProducerQuota <= 0 {
		errs = append(errs, fmt.Errorf("producer_quota must be positive (got %d)", c.ProducerQuota))
	}
	if c.LabelIdle <= 0 {
		errs = append(errs, fmt.Errorf("label_idle must be positive (got %s)", c.LabelIdle))
	}
	if c.DeliveryWindow <= 0 {
		errs = append(errs, fmt.Errorf("delivery_window must be positive (got %s)", c.DeliveryWindow))
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
	if c.FoldedMetric.ProducerLabel != "" && (c.FoldedMetric.UnknownProducer == "" || c.FoldedMetric.MaxProducerBytes <= 0) {
		errs = append(errs, errors.New("folded_metric with a producer_label needs unknown_producer and a positive max_producer_bytes"))
	}
	if err := c.UnusedMetric.Check(); err != nil {
		errs = append(errs, fmt.Errorf("unused_metric: %w", err))
	}
	if c.UnusedMetric.Reasons.TooManySeries == "" {
		errs = append(errs, errors.New("unused_metric: needs reasons.too_many_series"))
	}
	if c.Origin.Delivery != "" && (c.UnusedMetric.Reasons.Duplicate == "" || c.UnusedMetric.DuplicateProducer == "") {
		errs = append(errs, errors.New("origin.delivery needs unused_metric.reasons.duplicate and unused_metric.duplicate_producer: duplicates are counted"))
	}
	return errors.Join(errs...)
}
