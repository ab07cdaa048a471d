// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"github.com/hypertool-observability/hypertool/collector/genaiprices"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// pricer is the price book: USD per million input (or output) tokens of a model at a
// time; false where there is none.
type pricer interface {
	price(provider, model string, output bool, at pcommon.Timestamp) (float64, bool)
}

// price is the list price of an item's tokens of one type, at the usage's time.
func (g *genai) price(point, resource pcommon.Map, item []string, tokenType string, at pcommon.Timestamp) (float64, bool) {
	return g.priceFrom(g.provider(point, resource), item, tokenType, at)
}

// provider is the provider a point or span names: the first of Prices.ProviderFrom set
// on it, else on its resource; "" for none.
func (g *genai) provider(point, resource pcommon.Map) string {
	if g.book == nil {
		return ""
	}
	for _, key := range g.cfg.Prices.ProviderFrom {
		if v, ok := point.Get(key); ok {
			return v.AsString()
		}
		if v, ok := resource.Get(key); ok {
			return v.AsString()
		}
	}
	return ""
}

// priceFrom is price, for a provider already read.
func (g *genai) priceFrom(provider string, item []string, tokenType string, at pcommon.Timestamp) (float64, bool) {
	if g.book == nil {
		return 0, false
	}
	model := item[g.model]
	if model == "" || model == g.cfg.Unknown {
		return 0, false
	}
	return g.book.price(provider, model, tokenType == g.cfg.Series.Output, at)
}

// book prices a model's tokens from genai-prices' data: the price in force at the
// usage's time, matched as genai-prices matches (provider, then model).
type book struct{ b *genaiprices.Book }

func (k book) price(provider, model string, output bool, at pcommon.Timestamp) (float64, bool) {
	return k.b.TokenPrice(provider, model, at.AsTime(), output)
}

// loadPrices reads genai-prices' data file once per process, at start: the collector
// makes one connector per pair of pipelines, and agent_sums prices from the same book.
func loadPrices(path string) (pricer, error) {
	b, err := genaiprices.Shared(path)
	if err != nil {
		return nil, err
	}
	return book{b}, nil
}
