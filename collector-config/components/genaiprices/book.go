// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"strings"
	"time"
)

// Book is genai-prices' data, loaded (Load, LoadFile): its providers and models, the
// match logic compiled and the prices parsed. It is safe for concurrent use.
type Book struct {
	providers []*provider
	cache     *lookupCache
}

type provider struct {
	id, name      string
	modelMatch    clause // nil: never claims a model by its name
	providerMatch clause // nil: found by its id only
	// models: its own models, then those of its fallback_model_providers (one step), in
	// the order genai-prices tries them, each as found under this provider.
	models []*Model
}

type modelInfo struct {
	id, name string
	listedBy *provider
	match    clause
	prices   []conditional
}

// Model is a model of genai-prices found under a provider (Find).
type Model struct {
	provider *provider
	info     *modelInfo
	minAudio bool
}

// ID is the model's genai-prices id ("gpt-4o", "claude-sonnet-4-5").
func (m *Model) ID() string { return m.info.id }

// Name is the model's name in genai-prices ("GPT-4o"); "" where it has none.
func (m *Model) Name() string { return m.info.name }

// Provider is the id of the provider the model was found under (genai-prices'
// PriceCalculation.provider): the one named, or the one that claims the model's name.
func (m *Model) Provider() string { return m.provider.id }

// ProviderName is that provider's name ("OpenAI").
func (m *Model) ProviderName() string { return m.provider.name }

// ListedBy is the id of the provider whose models list the model: Provider, unless the
// model was found among the models of one of its fallback_model_providers (Azure's
// OpenAI models are listed by openai).
func (m *Model) ListedBy() string { return m.info.listedBy.id }

// PriceAt is the model's prices in force at t, as genai-prices chooses them (without a
// price context): of its dated and time-of-day prices, the last whose condition holds
// at t in UTC (a start date: t's UTC day is that day or later; a time of day: t's UTC
// time is in [start, end), across midnight when end is before start), else the first.
func (m *Model) PriceAt(t time.Time) Prices {
	return Prices{set: priceAt(m.info.prices, t), minAudio: m.minAudio}
}

// Find is the model genai-prices' calc_price would price for a provider and a model
// name (model_ref), and whether there is one. Results are cached, by both strings as
// given: a repeated lookup costs a hash and a map read.
//
// provider is genai-prices' provider_id, "" for none: lowercased and stripped, the
// provider with that id, else the first whose provider_match matches it
// (OpenTelemetry's gen_ai.provider.name values "openai", "anthropic", "gcp.gemini",
// "gcp.vertex_ai", "aws.bedrock", "azure.ai.openai" find openai, anthropic, google,
// google, aws and openai; see README.md). An unknown provider finds nothing, except
// "litellm", which takes the provider from a "provider/model" name, else goes on as if
// none was given. With none, the first provider (in the file's order) whose model_match
// matches the lowercased name claims it; a name none claims finds nothing.
//
// Then, as genai-prices' Provider.find_model, the provider's first model whose match
// matches the lowercased name, else the first of its fallback providers' models that
// does, else the same with a compact date ("-20251211") written with dashes.
func (b *Book) Find(provider, model string) (*Model, bool) {
	if m, hit := b.cache.get(provider, model); hit {
		return m, m != nil
	}
	m := b.find(provider, model)
	b.cache.put(provider, model, m)
	return m, m != nil
}

// Cost is the price in USD of u used by a model of a provider at t (Find, PriceAt,
// Cost), and whether genai-prices prices it.
func (b *Book) Cost(provider, model string, t time.Time, u Usage) (usd float64, ok bool) {
	m, found := b.Find(provider, model)
	if !found {
		return 0, false
	}
	return m.PriceAt(t).Cost(u)
}

// find is genai-prices' DataSnapshot.find_provider_model, uncached.
func (b *Book) find(providerID, modelRef string) *Model {
	ref := pyLower(modelRef)
	named := providerID != ""
	if named && pyLower(providerID) == "litellm" && strings.Contains(ref, "/") {
		actual, rest, _ := strings.Cut(ref, "/")
		if actual != "" && b.providerByID(actual) != nil {
			providerID, ref = actual, rest
		}
	}
	var p *provider
	if named {
		p = b.providerByID(providerID)
		if p == nil && pyLower(providerID) != "litellm" {
			return nil
		}
	}
	if p == nil {
		if ref == "" {
			return nil
		}
		for _, q := range b.providers {
			if q.modelMatch != nil && q.modelMatch.match(ref) {
				p = q
				break
			}
		}
		if p == nil {
			return nil
		}
	}
	if m := p.findModel(ref); m != nil {
		return m
	}
	if normalized := normalizeCompactDates(ref); normalized != ref {
		return p.findModel(normalized)
	}
	return nil
}

// providerByID is genai-prices' find_provider_by_id.
func (b *Book) providerByID(id string) *provider {
	id = pyStrip(pyLower(id))
	for _, p := range b.providers {
		if p.id == id {
			return p
		}
	}
	for _, p := range b.providers {
		if p.providerMatch != nil && p.providerMatch.match(id) {
			return p
		}
	}
	return nil
}

func (p *provider) findModel(ref string) *Model {
	for _, m := range p.models {
		if m.info.match.match(ref) {
			return m
		}
	}
	return nil
}

// PriceSample is how many tokens TokenPrice prices (and twice as many): small requests,
// so that the base tier applies, as it does to every call that does not reach a tier.
const PriceSample = 1000

// TokenPrice is the price in USD per million input (or output) tokens of model at t, as
// a collector pricing summed usage can know it: summed usage no longer knows each
// request's size, so the base tier applies. A provider genai-prices does not know (the
// GenAI conventions name some differently) is retried without it: the model's own name
// may still say who serves it. A price per request is left out: summed usage does not
// say how many requests it took.
func (b *Book) TokenPrice(provider, model string, t time.Time, output bool) (float64, bool) {
	m, ok := b.Find(provider, model)
	if !ok && provider != "" {
		m, ok = b.Find("", model)
	}
	if !ok {
		return 0, false
	}
	// Two sizes apart: what a price per request adds to both cancels out.
	prices := m.PriceAt(t)
	cost := func(tokens float64) (float64, bool) {
		if output {
			return prices.Cost(Usage{OutputTokens: tokens})
		}
		return prices.Cost(Usage{InputTokens: tokens})
	}
	small, ok := cost(PriceSample)
	if !ok {
		return 0, false
	}
	large, ok := cost(2 * PriceSample)
	if !ok {
		return 0, false
	}
	return (large - small) * 1e6 / PriceSample, true
}
