// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pipeline"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

// Config of the agent_sums connector. hypertool renders it from its names contract
// (hypertool_tools/render/collector.py): the names here are never typed by hand.
type Config struct {
	// Sums are the pipelines that receive the fleet-wide sums and the counts of points
	// not used (the ledger's pipeline).
	Sums []pipeline.ID `mapstructure:"sums"`
	// Others are the pipelines that receive every metric whose name lacks Prefix,
	// unchanged (foreign usage). Empty: those metrics are counted as not used.
	Others []pipeline.ID `mapstructure:"others"`
	// SkipOthers: with no Others, metrics whose name lacks Prefix are left alone, neither
	// passed on nor counted, for a connector beside this one that reads the same export.
	SkipOthers bool `mapstructure:"skip_others"`
	// Prefix marks the library's own metrics.
	Prefix string `mapstructure:"prefix"`
	// Resource is the one resource of every sum: no per-process attribute survives.
	Resource map[string]string `mapstructure:"resource"`
	// Origin: which export and which producer the sums came from, for the ledger, which
	// applies each delivery once and bounds label values per producer. Unset: not read.
	Origin Origin `mapstructure:"origin"`
	// Scope names the instrumentation scope of the sums. It must equal the scope of the
	// other sums the ledger adds into the same streams (the genai connector's).
	Scope string `mapstructure:"scope"`
	// MaxValue is the ceiling on one point's value; above it the point is not summed.
	MaxValue float64 `mapstructure:"max_value"`
	// MaxLabelBytes cuts longer label values, at a UTF-8 character boundary.
	MaxLabelBytes int `mapstructure:"max_label_bytes"`
	// Counters are the library's counters, summed by their labels.
	Counters []Counter `mapstructure:"counters"`
	// Rejected counts cumulative points of the library's metrics: deltas only add up.
	Rejected Metric `mapstructure:"rejected"`
	// Prices: the library's tokens by type, priced at list price (prices.go).
	Prices Prices `mapstructure:"prices"`
	// Unused counts every other point of the library's metrics, by reason.
	Unused Unused `mapstructure:"unused"`
}

// Origin names the resource attributes read from each export and those written on the
// sums' resource. Exports that differ in them are summed apart; the ledger removes the
// written ones before it keys a stream, so they never make a stream of their own.
type Origin struct {
	// Read: the export's delivery id (removed from what goes on to Others as well: it
	// is new on every export, and would make each one a stream of its own there), and
	// the producer's service name and instance.
	DeliveryFrom string `mapstructure:"delivery_from"`
	ProducerFrom string `mapstructure:"producer_from"`
	InstanceFrom string `mapstructure:"instance_from"`
	// Written.
	Delivery string `mapstructure:"delivery"`
	Producer string `mapstructure:"producer"`
	Instance string `mapstructure:"instance"`
}

// Metric names a metric this connector writes.
type Metric struct {
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
}

// Counter is one of the library's counters and the labels its sums keep.
type Counter struct {
	Metric `mapstructure:",squash"`
	Labels []string `mapstructure:"labels"`
}

// Unused is the counter of points received and not used (the shape every hypertool
// component shares, internal/unused), with this connector's reasons.
type Unused struct {
	unused.Config `mapstructure:",squash"`
	Reasons       Reasons `mapstructure:"reasons"`
}

// Reasons are the reason label's values.
type Reasons struct {
	// A sum's value, or a histogram's sum, that is NaN, negative or above MaxValue.
	NotANumber string `mapstructure:"not_a_number"`
	Negative   string `mapstructure:"negative"`
	TooLarge   string `mapstructure:"too_large"`
	// A counter's point that is not a sum, or lacks one of the counter's labels.
	NotSummable string `mapstructure:"not_summable"`
	// A point of a metric that is not one of Counters (nor a foreign one, with no Others).
	NotUsage string `mapstructure:"not_usage"`
}

func createDefaultConfig() *Config {
	return &Config{MaxValue: 100_000_000, MaxLabelBytes: 128}
}

// Validate reports every configuration error at start, never at run time.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Sums) == 0 {
		errs = append(errs, errors.New("sums must name at least one pipeline"))
	}
	if c.Prefix == "" {
		errs = append(errs, errors.New("prefix must be set"))
	}
	if c.Scope == "" {
		errs = append(errs, errors.New("scope must be set"))
	}
	if !(c.MaxValue > 0) {
		errs = append(errs, fmt.Errorf("max_value must be positive (got %v)", c.MaxValue))
	}
	if c.MaxLabelBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_label_bytes must be positive (got %d)", c.MaxLabelBytes))
	}
	seen := map[string]bool{}
	for i, counter := range c.Counters {
		if counter.Name == "" {
			errs = append(errs, fmt.Errorf("counters[%d] needs a name", i))
		}
		if seen[counter.Name] {
			errs = append(errs, fmt.Errorf("counters[%d]: %q is listed twice", i, counter.Name))
		}
		seen[counter.Name] = true
	}
	o := c.Origin
	for _, pair := range [][2]string{{o.DeliveryFrom, o.Delivery}, {o.ProducerFrom, o.Producer}, {o.InstanceFrom, o.Instance}} {
		if (pair[0] == "") != (pair[1] == "") {
			errs = append(errs, fmt.Errorf("origin: %q and %q must be set together", pair[0], pair[1]))
		}
	}
	index := map[string]int{}
	for i, counter := range c.Counters {
		index[counter.Name] = i
	}
	if err := c.Prices.validate(index); err != nil {
		errs = append(errs, err)
	}
	if c.Rejected.Name == "" {
		errs = append(errs, errors.New("rejected needs a name"))
	}
	if err := c.Unused.Check(); err != nil {
		errs = append(errs, fmt.Errorf("unused: %w", err))
	}
	r := c.Unused.Reasons
	if r.NotANumber == "" || r.Negative == "" || r.TooLarge == "" || r.NotSummable == "" || r.NotUsage == "" {
		errs = append(errs, errors.New("unused: needs every reason"))
	}
	return errors.Join(errs...)
}
