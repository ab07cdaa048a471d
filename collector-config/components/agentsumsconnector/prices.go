// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"errors"
	"fmt"

	"github.com/hypertool-observability/hypertool/collector/genaiprices"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Prices: the library's tokens by type are priced here, at genai-prices' list price, in
// the batch that sums them, so that an export resent from the library's spool is priced
// once, as it is counted once. The library carries no price table of its own; it prices
// a call itself only at a price its user gave it, and says so on the point (PricedBy).
type Prices struct {
	// File is genai-prices' data file. Empty: nothing is priced here.
	File string `mapstructure:"file"`
	// Tokens is the counter priced; Cost and Unpriced the counters written (each must be
	// one of Counters).
	Tokens   string `mapstructure:"tokens"`
	Cost     string `mapstructure:"cost"`
	Unpriced string `mapstructure:"unpriced"`
	// PricedBy: a point attribute the library sets when it priced the tokens itself.
	PricedBy string `mapstructure:"priced_by"`
	// Label keys of the tokens counter, and the cost counter's source label and value.
	ModelLabel      string `mapstructure:"model_label"`
	TokenTypeLabel  string `mapstructure:"token_type_label"`
	CostSourceLabel string `mapstructure:"cost_source_label"`
	Estimated       string `mapstructure:"estimated"`
	// Output is the token type priced at the output price; every other at the input one.
	Output string `mapstructure:"output"`
}

func (p *Prices) validate(counters map[string]int) error {
	if p.File == "" {
		return nil
	}
	var errs []error
	for _, name := range []string{p.Tokens, p.Cost, p.Unpriced} {
		if _, ok := counters[name]; !ok {
			errs = append(errs, fmt.Errorf("prices: %q is not one of counters", name))
		}
	}
	for key, v := range map[string]string{"model_label": p.ModelLabel, "token_type_label": p.TokenTypeLabel, "cost_source_label": p.CostSourceLabel, "estimated": p.Estimated, "output": p.Output} {
		if v == "" {
			errs = append(errs, fmt.Errorf("prices: %s must be set", key))
		}
	}
	return errors.Join(errs...)
}

// pricedCounters are Prices' three counters, as indexes into Config.Counters.
type pricedCounters struct{ tokens, cost, unpriced int }

// Start loads the price book: a file that cannot be read stops the collector at start.
func (c *agentSums) Start(context.Context, component.Host) error {
	if c.cfg.Prices.File == "" {
		return nil
	}
	book, err := genaiprices.Shared(c.cfg.Prices.File)
	if err != nil {
		return fmt.Errorf("agent_sums: prices: %w", err)
	}
	c.book = book
	return nil
}

// price adds the cost of a tokens point (or its tokens as unpriced) to the tally.
func (t *tally) price(counter int, dp pmetric.NumberDataPoint, tokens float64) {
	p := &t.c.cfg.Prices
	if t.c.book == nil || counter != t.c.priced.tokens {
		return
	}
	attrs := dp.Attributes()
	if _, own := attrs.Get(p.PricedBy); own && p.PricedBy != "" {
		return
	}
	model, _ := attrs.Get(p.ModelLabel)
	tokenType, _ := attrs.Get(p.TokenTypeLabel)
	usd, ok := t.c.book.TokenPrice("", model.AsString(), dp.Timestamp().AsTime(), tokenType.AsString() == p.Output)
	target, value := t.c.priced.unpriced, tokens
	if ok {
		target, value = t.c.priced.cost, tokens*usd/1e6
	}
	t.values = t.values[:0]
	for _, label := range t.c.cfg.Counters[target].Labels {
		if label == p.CostSourceLabel {
			t.values = append(t.values, p.Estimated)
			continue
		}
		v, _ := attrs.Get(label) // the tokens counter has every label of both
		t.values = append(t.values, t.label(v))
	}
	t.addValues(target, t.values, value)
}
