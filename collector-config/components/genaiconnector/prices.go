// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// pricer is the price book: USD per million tokens of one token type ("input" or
// "output", the contract's), for a model at a time; false where there is none.
type pricer interface {
	price(provider, model, tokenType string, at pcommon.Timestamp) (float64, bool)
}

// price is the list price of an item's tokens of one type, at the usage's time.
func (g *genai) price(point, resource pcommon.Map, item []string, tokenType string, at pcommon.Timestamp) (float64, bool) {
	if g.book == nil {
		return 0, false
	}
	model := item[g.index[g.cfg.Series.Model]]
	if model == "" || model == g.cfg.Unknown {
		return 0, false
	}
	provider := ""
	for _, key := range g.cfg.Prices.ProviderFrom {
		if v, ok := point.Get(key); ok {
			provider = v.AsString()
			break
		}
		if v, ok := resource.Get(key); ok {
			provider = v.AsString()
			break
		}
	}
	return g.book.price(provider, model, tokenType, at)
}

// loadPrices is replaced by the genaiprices book.
func loadPrices(path string) (pricer, error) {
	_ = fmt.Sprint(path)
	return nil, nil
}
