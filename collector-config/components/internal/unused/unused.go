// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package unused is the counter of items (metric points, spans, log records) a component
// received and did not use: hypertool.pipeline.unused in the names contract. Nothing a
// hypertool component drops vanishes silently; each item it does not use is counted here,
// by signal, reason and producer.
//
// A component squashes Config into its own configuration, beside the values of its
// reason label, which are its own:
//
//	type Unused struct {
//		unused.Config `mapstructure:",squash"`
//		Reasons       Reasons `mapstructure:"reasons"`
//	}
//
// so that every component's block reads alike (hypertool_tools/render/collector.py
// renders it from the names contract):
//
//	unused:
//	  name: hypertool.pipeline.unused
//	  description: Metric points, spans and log records received and not used, by reason.
//	  unit: "{item}"
//	  signal_label: signal
//	  reason_label: reason
//	  producer_label: producer
//	  signal: metrics
//	  unknown_producer: unknown
//	  reasons: {...}
//
// Per request, a Counts adds up what was not used, by reason and producer, and appends
// the counter's delta points to the request's output; or, for a component that keeps its
// own representation of points (the ledger), Config.Labels gives each count's labels.
package unused // import "github.com/hypertool-observability/hypertool/collector/internal/unused"

import (
	"errors"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Config names the counter, its three labels, and the label values that do not depend
// on the item counted.
type Config struct {
	// The counter: a delta, monotonic sum.
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
	// Label keys.
	SignalLabel   string `mapstructure:"signal_label"`
	ReasonLabel   string `mapstructure:"reason_label"`
	ProducerLabel string `mapstructure:"producer_label"`
	// Signal is the signal label's value: the signal of every item the component counts
	// ("metrics" for a metrics pipeline's component).
	Signal string `mapstructure:"signal"`
	// UnknownProducer is the producer label's value when the producer is not known ("").
	UnknownProducer string `mapstructure:"unknown_producer"`
}

// Check reports the fields left unset, every one in a single error, or nil. It is not
// named Validate so that the collector's config validation, which calls Validate on every
// nested struct, does not report the same error twice: the component's own Validate calls
// Check and names the block (e.g. "unused: needs name, signal").
func (c *Config) Check() error {
	var missing []string
	for _, f := range []struct{ key, value string }{
		{"name", c.Name},
		{"signal_label", c.SignalLabel},
		{"reason_label", c.ReasonLabel},
		{"producer_label", c.ProducerLabel},
		{"signal", c.Signal},
		{"unknown_producer", c.UnknownProducer},
	} {
		if f.value == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errors.New("needs " + strings.Join(missing, ", "))
}

// producer is the producer label's value of producer.
func (c *Config) producer(producer string) string {
	if producer == "" {
		return c.UnknownProducer
	}
	return producer
}

// Labels are the labels of one count: the signal, reason, and producer (UnknownProducer
// if producer is "").
func (c *Config) Labels(reason, producer string) map[string]string {
	return map[string]string{
		c.SignalLabel:   c.Signal,
		c.ReasonLabel:   reason,
		c.ProducerLabel: c.producer(producer),
	}
}

// PutLabels puts the labels of one count on attrs, as Labels.
func (c *Config) PutLabels(attrs pcommon.Map, reason, producer string) {
	attrs.EnsureCapacity(attrs.Len() + 3)
	attrs.PutStr(c.SignalLabel, c.Signal)
	attrs.PutStr(c.ReasonLabel, reason)
	attrs.PutStr(c.ProducerLabel, c.producer(producer))
}

// Key is what a count is kept by: the reason and producer label values.
type Key struct {
	Reason, Producer string
}

// Counts adds up the items not used of one request (or any span of work), by reason and
// producer. The zero value is not usable: make one with NewCounts. It is not safe for
// concurrent use; a component makes one per request.
type Counts struct {
	cfg *Config
	n   map[Key]float64
}

// NewCounts returns empty counts of cfg's counter. cfg is read, never changed.
func NewCounts(cfg *Config) *Counts {
	return &Counts{cfg: cfg}
}

// Add counts n items of producer not used for reason. The producer is taken as given:
// a component that bounds label values cuts it first (pdatautil.CutUTF8); "" is counted
// as UnknownProducer, together with a producer of that name.
func (c *Counts) Add(reason, producer string, n float64) {
	if n == 0 {
		return
	}
	if c.n == nil {
		c.n = map[Key]float64{}
	}
	c.n[Key{reason, c.cfg.producer(producer)}] += n
}

// Len is the number of distinct (reason, producer) counts.
func (c *Counts) Len() int { return len(c.n) }

// Get is the count of (reason, producer), producer as passed to Add.
func (c *Counts) Get(reason, producer string) float64 {
	return c.n[Key{reason, c.cfg.producer(producer)}]
}

// Range calls f with each count and its labels (as Labels), in no set order.
func (c *Counts) Range(f func(labels map[string]string, n float64)) {
	for k, n := range c.n {
		f(c.cfg.Labels(k.Reason, k.Producer), n)
	}
}

// AppendTo appends the counter to sm, unless no item was counted: one delta, monotonic
// sum named as Config says, with a double point per (reason, producer), stamped ts.
func (c *Counts) AppendTo(sm pmetric.ScopeMetrics, ts pcommon.Timestamp) {
	if len(c.n) == 0 {
		return
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(c.cfg.Name)
	m.SetDescription(c.cfg.Description)
	m.SetUnit(c.cfg.Unit)
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sum.SetIsMonotonic(true)
	dps := sum.DataPoints()
	dps.EnsureCapacity(len(c.n))
	for k, n := range c.n {
		dp := dps.AppendEmpty()
		dp.SetDoubleValue(n)
		dp.SetTimestamp(ts)
		c.cfg.PutLabels(dp.Attributes(), k.Reason, k.Producer)
	}
}

// BadValue is the reason a point's value (or a histogram's sum) cannot be summed, or ""
// if it can: not a number, negative, or above max. No real producer sends these; every
// hypertool component that sums guards its values with this one check.
func BadValue(v, max float64, notANumber, negative, tooLarge string) string {
	switch {
	case math.IsNaN(v):
		return notANumber
	case v < 0:
		return negative
	case v > max:
		return tooLarge
	}
	return ""
}
