// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package genaiprices prices LLM usage from the data of genai-prices
// (github.com/pydantic/genai-prices) exactly as its Python calc_price does: the same
// provider and model for a name, the same prices in force at a moment, the same cost
// for a usage.
//
// Load the data once, at start (hypertool renders the pinned genai-prices' data to
// collector-config/generated/genai-prices.json):
//
//	book, err := genaiprices.LoadFile(path) // an error names the file and the entry
//
// then, from any number of goroutines:
//
//	model, ok := book.Find(providerName, modelName) // cached
//	if ok {
//		usd, ok := model.PriceAt(end).Cost(genaiprices.Usage{
//			InputTokens: in, CacheReadTokens: cached, OutputTokens: out,
//		})
//	}
//
// README.md says what is matched and priced, what is not, where this package departs
// from genai-prices and why, and how to take new prices.
package genaiprices
