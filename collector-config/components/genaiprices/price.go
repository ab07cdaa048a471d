// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"errors"
	"fmt"
	"math"
	"time"
)

var (
	// ErrUsage: genai-prices refuses to price this usage (calc_price raises ValueError):
	// a count is negative or not finite, a more specific count exceeds the one it is part
	// of (cache reads above input tokens), or a count is missing that the others imply
	// (cache reads reported without input tokens, where the model prices input tokens).
	ErrUsage = errors.New("genaiprices: usage genai-prices does not price")
	// ErrPrices: the model's prices are a set genai-prices refuses to use (calc_price
	// raises ValueError for any usage): a price for part of a unit without the unit's own.
	ErrPrices = errors.New("genaiprices: prices genai-prices does not apply")
)

// Usage is what one request used, with genai-prices' Usage semantics: counts of its usage
// keys, where a count includes every more specific count that is part of it. A count of
// 0 is a count not reported (genai-prices tells an explicit 0 from a missing key, which
// matters in one corner: see README.md).
type Usage struct {
	// InputTokens is every input token: cache reads and writes included (genai-prices'
	// input_tokens). A model with a cache price prices them apart; one without prices
	// them as input.
	InputTokens float64
	// CacheReadTokens: input tokens read from the cache (cache_read_tokens).
	CacheReadTokens float64
	// CacheWriteTokens: input tokens written to the cache (cache_write_tokens).
	CacheWriteTokens float64
	// OutputTokens is every output token, reasoning tokens included (output_tokens).
	OutputTokens float64
	// Other counts by genai-prices usage key ("input_audio_tokens",
	// "cache_write_1h_tokens", "output_reasoning_tokens", "web_searches",
	// "audio_seconds", ...; see units.go). Keys genai-prices does not know are ignored,
	// as genai-prices ignores them; the four keys above are an ErrUsage here.
	Other map[string]float64
}

// Breakdown is what a usage costs, in USD, as genai-prices' PriceCalculation splits it.
type Breakdown struct {
	// Input and Output: the units of that direction (tokens, characters, audio
	// seconds, pages...). Total is every unit, per-request and per-search prices too.
	Input, Output, Total float64
	// Unpriced: some count of the usage has no price in the model, neither its own nor
	// that of a unit it is part of (output tokens of a model priced only for its input,
	// audio seconds of one priced by the token). genai-prices counts it as free, and so
	// do Input, Output and Total.
	Unpriced bool
}

// Prices are one model's prices in force at one moment ((*Model).PriceAt). The zero
// value prices nothing: its Cost is not ok.
type Prices struct {
	set *priceSet
	// minAudio: Groq's Whisper models bill at least 10 s of audio a request, which
	// genai-prices applies to audio_seconds and input_audio_seconds.
	minAudio bool
}

// Additive reports whether these prices cost a sum of usages what the usages cost apart:
// no tiers (chosen by one request's input tokens), no price per request (genai-prices
// charges one per calculation) and no minimum bill. Where it is false, Cost is exact for
// one request's usage only; an aggregate of requests costs what genai-prices would
// charge for one request that large.
func (p Prices) Additive() bool {
	if p.set == nil {
		return false
	}
	return !p.set.tiered && !p.minAudio && p.set.priced&(1<<unitRequests) == 0
}

// Cost is the total price of u in USD, and whether genai-prices prices it (see
// Breakdown for what it does not).
func (p Prices) Cost(u Usage) (usd float64, ok bool) {
	b, err := p.Breakdown(u)
	return b.Total, err == nil
}

// Breakdown prices u as genai-prices' calc_price does, for one request: a tiered price
// applies its tier to every count when u's input tokens exceed the tier's start. Errors
// are ErrUsage or ErrPrices.
func (p Prices) Breakdown(u Usage) (Breakdown, error) {
	s := p.set
	if s == nil {
		return Breakdown{}, fmt.Errorf("%w: no prices", ErrPrices)
	}
	if s.invalid != nil {
		return Breakdown{}, s.invalid
	}
	var counts [len(units)]float64
	reported, err := u.counts(&counts)
	if err != nil {
		return Breakdown{}, err
	}
	if p.minAudio {
		reported = billMinAudio(&counts, reported)
	}
	// Each priced unit's own count: its count less those of the priced units part of it
	// (genai-prices' compute_leaf_values; s.units is most specific first).
	var own [len(units)]float64
	for i := range s.units {
		pu := &s.units[i]
		if pu.unit == unitRequests {
			own[i] = 1 // genai-prices prices one request per calculation
			continue
		}
		n, err := count(&counts, reported, pu.unit)
		if err != nil {
			return Breakdown{}, err
		}
		for _, d := range pu.parts {
			n -= own[d]
		}
		if n < 0 {
			return Breakdown{}, fmt.Errorf("%w: the counts part of %s exceed it", ErrUsage, units[pu.unit].usageKey)
		}
		own[i] = n
	}
	var input float64
	if s.tiered {
		if input, err = count(&counts, reported, unitInput); err != nil {
			return Breakdown{}, err
		}
	}
	var b Breakdown
	for i := range s.units {
		pu := &s.units[i]
		price := pu.base
		for t := len(pu.tiers) - 1; t >= 0; t-- {
			if input > pu.tiers[t].start {
				price = pu.tiers[t].price
				break
			}
		}
		usd := price * own[i] / units[pu.unit].per
		b.Total += usd
		switch direction[pu.unit] {
		case 1:
			b.Input += usd
		case -1:
			b.Output += usd
		}
	}
	b.Unpriced = reported&^s.covered != 0
	return b, nil
}

// counts fills c with u's counts by unit; the set is of the positive ones.
func (u *Usage) counts(c *[len(units)]float64) (unitSet, error) {
	var reported unitSet
	for _, kv := range [...]struct {
		unit  int
		count float64
	}{
		{unitInput, u.InputTokens},
		{unitCacheRead, u.CacheReadTokens},
		{unitCacheWrite, u.CacheWriteTokens},
		{unitOutput, u.OutputTokens},
	} {
		if kv.count != 0 {
			if err := checkCount(kv.unit, kv.count); err != nil {
				return 0, err
			}
			c[kv.unit] = kv.count
			reported |= 1 << kv.unit
		}
	}
	for key, n := range u.Other {
		unit, known := unitByUsageKey[key]
		if !known || reportable&(1<<unit) == 0 {
			continue // genai-prices ignores (and warns about) keys it does not count
		}
		switch unit {
		case unitInput, unitCacheRead, unitCacheWrite, unitOutput:
			return 0, fmt.Errorf("%w: %s belongs in its own field of Usage, not in Other", ErrUsage, key)
		}
		if n != 0 {
			if err := checkCount(unit, n); err != nil {
				return 0, err
			}
			c[unit] = n
			reported |= 1 << unit
		}
	}
	return reported, nil
}

func checkCount(unit int, n float64) error {
	if n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("%w: %s is %v, not a finite count", ErrUsage, units[unit].usageKey, n)
	}
	return nil
}

// count is a unit's count: the reported one, or 0 where nothing reported implies one
// (genai-prices' Usage._infer_missing_value).
func count(c *[len(units)]float64, reported unitSet, unit int) (float64, error) {
	if reported&(1<<unit) != 0 {
		return c[unit], nil
	}
	if reported&descendants[unit] != 0 {
		return 0, fmt.Errorf("%w: counts part of %s reported without it", ErrUsage, units[unit].usageKey)
	}
	for _, pair := range joins[unit] {
		if reported&pair == pair {
			return 0, fmt.Errorf("%w: counts that together make %s reported without it", ErrUsage, units[unit].usageKey)
		}
	}
	return 0, nil
}

// billMinAudio is genai-prices' rule for Groq's Whisper models: the audio seconds
// reported (audio_seconds, else input_audio_seconds) billed as at least 10, as both.
func billMinAudio(c *[len(units)]float64, reported unitSet) unitSet {
	seconds := c[unitAudioSecs]
	if seconds == 0 {
		seconds = c[unitInAudioSec]
	}
	if seconds > 0 {
		billed := max(seconds, 10)
		c[unitAudioSecs], c[unitInAudioSec] = billed, billed
		reported |= 1<<unitAudioSecs | 1<<unitInAudioSec
	}
	return reported
}

// priceSet is one of genai-prices' ModelPrice, compiled.
type priceSet struct {
	// units: the priced units, most specific first (most dimensions, then usage key),
	// the order genai-prices computes their own counts in.
	units []pricedUnit
	// priced: the units with a price; covered: those and the units part of them.
	priced, covered unitSet
	// tiered: some price has tiers, so the input tokens choose them.
	tiered bool
	// invalid: why genai-prices refuses these prices (validate_priced_units); nil if not.
	invalid error
}

type pricedUnit struct {
	unit int
	base float64
	// tiers, by ascending start: a price for every count when input tokens exceed start.
	tiers []tier
	// parts: indexes in units of the priced units part of this one.
	parts []int
}

type tier struct {
	start, price float64
}

// newPriceSet compiles the prices of one ModelPrice, by unit.
func newPriceSet(prices map[int]pricedUnit) *priceSet {
	s := &priceSet{}
	for unit, pu := range prices {
		s.priced |= 1 << unit
		s.units = append(s.units, pu)
		s.tiered = s.tiered || len(pu.tiers) > 0
	}
	sortUnits(s.units)
	for i := range s.units {
		for j := range s.units {
			if i != j && descendants[s.units[i].unit]&(1<<s.units[j].unit) != 0 {
				s.units[i].parts = append(s.units[i].parts, j)
			}
		}
	}
	for unit := range units {
		if (ancestors[unit]|1<<unit)&s.priced != 0 && reportable&(1<<unit) != 0 {
			s.covered |= 1 << unit
		}
	}
	s.invalid = validatePriced(s.priced)
	return s
}

// sortUnits orders units as genai-prices' compute_leaf_values: most dimensions first,
// then by usage key.
func sortUnits(list []pricedUnit) {
	less := func(a, b int) bool {
		da, db := len(units[a].dimensions), len(units[b].dimensions)
		if da != db {
			return da > db
		}
		return units[a].usageKey < units[b].usageKey
	}
	for i := 1; i < len(list); i++ { // insertion sort: a handful of units
		for j := i; j > 0 && less(list[j].unit, list[j-1].unit); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// validatePriced is genai-prices' validate_priced_units: every unit a priced unit is
// part of is priced, and so is the unit two priced units make together.
func validatePriced(priced unitSet) error {
	for u := range units {
		if priced&(1<<u) == 0 {
			continue
		}
		if missing := ancestors[u] &^ priced; missing != 0 {
			return fmt.Errorf("%w: %s is priced, %s is not", ErrPrices, units[u].priceKey, keys(missing))
		}
	}
	for u := range units {
		for _, pair := range joins[u] {
			if priced&pair == pair && priced&(1<<u) == 0 {
				return fmt.Errorf("%w: %s is priced, %s is not", ErrPrices, keys(pair), units[u].priceKey)
			}
		}
	}
	for a := range units {
		for b := a + 1; b < len(units); b++ {
			pair := unitSet(1<<a | 1<<b)
			if priced&pair == pair && compatible(a, b) && !partOf(a, b) && !partOf(b, a) && joinOf(a, b) < 0 {
				return fmt.Errorf("%w: no unit joins %s", ErrPrices, keys(pair))
			}
		}
	}
	return nil
}

func keys(set unitSet) string {
	out := ""
	for u := range units {
		if set&(1<<u) != 0 {
			if out != "" {
				out += " and "
			}
			out += units[u].priceKey
		}
	}
	return out
}

// conditional is one of a model's prices with the condition it applies under
// (genai-prices' ConditionalPrice).
type conditional struct {
	kind conditionKind
	// from: the Unix second of the start date's UTC midnight.
	from int64
	// start, end: nanoseconds into the UTC day, [start, end), across midnight when
	// end < start.
	start, end int64
	prices     *priceSet
}

type conditionKind uint8

const (
	always conditionKind = iota
	fromDate
	timeOfDay
)

func (c *conditional) active(unixSecond, nanoOfDay int64) bool {
	switch c.kind {
	case fromDate:
		return unixSecond >= c.from
	case timeOfDay:
		if c.end < c.start {
			return nanoOfDay >= c.start || nanoOfDay < c.end
		}
		return c.start <= nanoOfDay && nanoOfDay < c.end
	}
	return true
}

// priceAt is genai-prices' ModelInfo.get_prices without a price context: the last of the
// prices whose condition holds at t (UTC), else the first.
func priceAt(prices []conditional, t time.Time) *priceSet {
	if len(prices) == 1 && prices[0].kind == always {
		return prices[0].prices
	}
	second := t.Unix()
	nano := second % 86400
	if nano < 0 {
		nano += 86400
	}
	nano = nano*int64(time.Second) + int64(t.Nanosecond())
	for i := len(prices) - 1; i >= 0; i-- {
		if prices[i].active(second, nano) {
			return prices[i].prices
		}
	}
	return prices[0].prices
}
