// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultCacheSize is how many (provider, model) lookups a Book keeps by default.
const DefaultCacheSize = 4096

// Option sets how a Book is loaded.
type Option func(*options)

type options struct {
	cacheSize int
}

// WithCacheSize bounds the lookups a Book caches (Find); n <= 0 caches none. A lookup
// that would make the cache hold more empties it first: the lookups in use fill it again.
func WithCacheSize(n int) Option {
	return func(o *options) { o.cacheSize = n }
}

// LoadFile loads genai-prices' data from the JSON file at path (as Load); its errors
// name the file.
func LoadFile(path string, opts ...Option) (*Book, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("genaiprices: %w", err)
	}
	defer f.Close()
	b, err := load(f, opts)
	if err != nil {
		return nil, fmt.Errorf("genaiprices: %s: %w", path, err)
	}
	return b, nil
}

// Load loads genai-prices' data: the JSON array of providers genai-prices publishes as
// prices/new_data/v2/data.json and reads when it updates its prices (hypertool writes
// the pinned package's copy to collector-config/generated/genai-prices.json). It
// compiles every match clause and parses every price, so that a file this package
// cannot price from exactly as genai-prices does is an error here, never later.
func Load(r io.Reader, opts ...Option) (*Book, error) {
	b, err := load(r, opts)
	if err != nil {
		return nil, fmt.Errorf("genaiprices: %w", err)
	}
	return b, nil
}

// The parts of the data this package reads; it ignores the rest (descriptions, usage
// extractors, API URL patterns, and price_variants: the batch and service-tier prices
// genai-prices applies only given a price context).
type (
	rawProvider struct {
		ID                     string          `json:"id"`
		Name                   string          `json:"name"`
		ModelMatch             json.RawMessage `json:"model_match"`
		ProviderMatch          json.RawMessage `json:"provider_match"`
		FallbackModelProviders []string        `json:"fallback_model_providers"`
		Models                 []rawModel      `json:"models"`
	}
	rawModel struct {
		ID     string          `json:"id"`
		Name   string          `json:"name"`
		Match  json.RawMessage `json:"match"`
		Prices json.RawMessage `json:"prices"`
	}
	rawConditional struct {
		Constraint json.RawMessage `json:"constraint"`
		Prices     json.RawMessage `json:"prices"`
	}
	rawConstraint struct {
		StartDate *string `json:"start_date"`
		StartTime *string `json:"start_time"`
		EndTime   *string `json:"end_time"`
	}
	rawTiered struct {
		Base  json.RawMessage `json:"base"`
		Tiers []struct {
			Start json.RawMessage `json:"start"`
			Price json.RawMessage `json:"price"`
		} `json:"tiers"`
	}
)

func load(r io.Reader, opts []Option) (*Book, error) {
	o := options{cacheSize: DefaultCacheSize}
	for _, opt := range opts {
		opt(&o)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, errors.New("not genai-prices' data: expected a JSON array of providers")
	}
	var raws []rawProvider
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("not genai-prices' data: %w", err)
	}
	b := &Book{cache: newLookupCache(o.cacheSize)}
	for i := range raws {
		p, err := newProvider(&raws[i])
		if err != nil {
			return nil, fmt.Errorf("provider %d (%q): %w", i, raws[i].ID, err)
		}
		b.providers = append(b.providers, p)
	}
	for i, p := range b.providers {
		// Fallbacks: genai-prices tries each named provider's own models, in order; an id
		// it has no provider for it skips.
		for _, id := range raws[i].FallbackModelProviders {
			if j := slices.IndexFunc(b.providers, func(q *provider) bool { return q.id == id }); j >= 0 {
				for _, m := range b.providers[j].models[:len(raws[j].Models)] {
					p.models = append(p.models, newModel(p, m.info))
				}
			}
		}
	}
	return b, nil
}

func newProvider(raw *rawProvider) (*provider, error) {
	if raw.ID == "" {
		return nil, errors.New("no id")
	}
	p := &provider{id: raw.ID, name: raw.Name}
	var err error
	if p.modelMatch, err = optionalClause(raw.ModelMatch); err != nil {
		return nil, fmt.Errorf("model_match: %w", err)
	}
	if p.providerMatch, err = optionalClause(raw.ProviderMatch); err != nil {
		return nil, fmt.Errorf("provider_match: %w", err)
	}
	for i := range raw.Models {
		info, err := newModelInfo(p, &raw.Models[i])
		if err != nil {
			return nil, fmt.Errorf("model %d (%q): %w", i, raw.Models[i].ID, err)
		}
		p.models = append(p.models, newModel(p, info))
	}
	return p, nil
}

func newModel(p *provider, info *modelInfo) *Model {
	return &Model{
		provider: p,
		info:     info,
		minAudio: p.id == "groq" && (info.id == "whisper-large-v3" || info.id == "whisper-large-v3-turbo"),
	}
}

func newModelInfo(p *provider, raw *rawModel) (*modelInfo, error) {
	if raw.ID == "" {
		return nil, errors.New("no id")
	}
	m := &modelInfo{id: raw.ID, name: raw.Name, listedBy: p}
	var err error
	if m.match, err = optionalClause(raw.Match); err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	if m.match == nil {
		return nil, errors.New("no match")
	}
	if m.prices, err = parsePrices(raw.Prices); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null"))
}

func optionalClause(raw json.RawMessage) (clause, error) {
	if isNull(raw) {
		return nil, nil
	}
	return parseClause(raw)
}

// parseClause compiles genai-prices' MatchLogic: an object with one key naming the kind.
func parseClause(raw json.RawMessage) (clause, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("a match clause: %w", err)
	}
	if len(obj) != 1 {
		return nil, fmt.Errorf("a match clause has one key, not %d", len(obj))
	}
	var kind string
	var body json.RawMessage
	for kind, body = range obj {
	}
	switch kind {
	case "equals", "starts_with", "ends_with", "contains", "regex":
		var text string
		if err := json.Unmarshal(body, &text); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		switch kind {
		case "equals":
			return equalsClause(pyLower(text)), nil
		case "starts_with":
			return startsWithClause(pyLower(text)), nil
		case "ends_with":
			return endsWithClause(pyLower(text)), nil
		case "contains":
			return containsClause(pyLower(text)), nil
		}
		return compileRegex(text) // case sensitive, on the lowercased name
	case "or", "and":
		var list []json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		subs := make([]clause, 0, len(list))
		for i, item := range list {
			sub, err := parseClause(item)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", kind, i, err)
			}
			subs = append(subs, sub)
		}
		if kind == "or" {
			return anyClause(subs), nil
		}
		return allClause(subs), nil
	}
	return nil, fmt.Errorf("unknown match clause %q", kind)
}

// parsePrices parses a model's prices: one ModelPrice, or a list of ConditionalPrice.
func parsePrices(raw json.RawMessage) ([]conditional, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []rawConditional
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, errors.New("an empty list")
		}
		out := make([]conditional, len(list))
		for i := range list {
			set, err := parseModelPrice(list[i].Prices)
			if err != nil {
				return nil, fmt.Errorf("%d: %w", i, err)
			}
			out[i] = conditional{prices: set}
			if err := parseConstraint(list[i].Constraint, &out[i]); err != nil {
				return nil, fmt.Errorf("%d: constraint: %w", i, err)
			}
		}
		return out, nil
	}
	set, err := parseModelPrice(trimmed)
	if err != nil {
		return nil, err
	}
	return []conditional{{prices: set}}, nil
}

func parseConstraint(raw json.RawMessage, c *conditional) error {
	if isNull(raw) {
		return nil
	}
	var rc rawConstraint
	if err := json.Unmarshal(raw, &rc); err != nil {
		return err
	}
	switch {
	case rc.StartDate != nil && rc.StartTime == nil && rc.EndTime == nil:
		day, err := time.Parse(time.DateOnly, *rc.StartDate)
		if err != nil {
			return fmt.Errorf("start_date: %w", err)
		}
		c.kind, c.from = fromDate, day.Unix()
	case rc.StartDate == nil && rc.StartTime != nil && rc.EndTime != nil:
		var err error
		if c.start, err = parseTimeOfDay(*rc.StartTime); err != nil {
			return fmt.Errorf("start_time: %w", err)
		}
		if c.end, err = parseTimeOfDay(*rc.EndTime); err != nil {
			return fmt.Errorf("end_time: %w", err)
		}
		c.kind = timeOfDay
	default:
		return errors.New("neither a start_date nor a start_time and end_time")
	}
	return nil
}

// parseTimeOfDay reads a time of day as pydantic writes it ("16:30:00Z",
// "08:00:00.5+08:00"; no zone is UTC) as nanoseconds into the UTC day.
func parseTimeOfDay(text string) (int64, error) {
	clock, offset := text, int64(0)
	if i := strings.IndexAny(text, "Z+-"); i >= 0 {
		clock = text[:i]
		if zone := text[i:]; zone != "Z" {
			t, err := time.Parse("-07:00", zone)
			if err != nil {
				return 0, fmt.Errorf("%q: zone: %w", text, err)
			}
			_, seconds := t.Zone()
			offset = int64(seconds) * int64(time.Second)
		}
	}
	layout := "15:04:05"
	if len(clock) == len("15:04") {
		layout = "15:04"
	}
	t, err := time.Parse(layout, clock)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", text, err)
	}
	nanos := int64(t.Hour())*int64(time.Hour) + int64(t.Minute())*int64(time.Minute) +
		int64(t.Second())*int64(time.Second) + int64(t.Nanosecond())
	day := 24 * int64(time.Hour)
	return ((nanos-offset)%day + day) % day, nil
}

// parseModelPrice parses a ModelPrice: prices by price key, a number (USD per the unit's
// count) or tiered prices; null is no price.
func parseModelPrice(raw json.RawMessage) (*priceSet, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	prices := map[int]pricedUnit{}
	for key, value := range obj {
		if isNull(value) {
			continue
		}
		unit, known := unitByPriceKey[key]
		if !known {
			return nil, fmt.Errorf("%s: a price key genai-prices %s has no unit for (units.go)", key, GenaiPricesVersion)
		}
		pu := pricedUnit{unit: unit}
		var err error
		if trimmed := bytes.TrimSpace(value); len(trimmed) > 0 && trimmed[0] == '{' {
			err = parseTiered(trimmed, &pu)
		} else {
			pu.base, err = parsePrice(value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		prices[unit] = pu
	}
	return newPriceSet(prices), nil
}

func parseTiered(raw json.RawMessage, pu *pricedUnit) error {
	var rt rawTiered
	if err := json.Unmarshal(raw, &rt); err != nil {
		return err
	}
	if rt.Base == nil || rt.Tiers == nil {
		return errors.New("tiered prices without base or tiers")
	}
	var err error
	if pu.base, err = parsePrice(rt.Base); err != nil {
		return fmt.Errorf("base: %w", err)
	}
	for i, t := range rt.Tiers {
		start, err := strconv.ParseInt(string(bytes.TrimSpace(t.Start)), 10, 64)
		if err != nil || start < 0 {
			return fmt.Errorf("tier %d: start %s is not a count", i, t.Start)
		}
		price, err := parsePrice(t.Price)
		if err != nil {
			return fmt.Errorf("tier %d: %w", i, err)
		}
		pu.tiers = append(pu.tiers, tier{start: float64(start), price: price})
	}
	// genai-prices sorts them (stably) by start.
	slices.SortStableFunc(pu.tiers, func(a, b tier) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	return nil
}

func parsePrice(raw json.RawMessage) (float64, error) {
	text := string(bytes.TrimSpace(raw))
	price, err := strconv.ParseFloat(text, 64)
	if err != nil || price < 0 || math.IsNaN(price) || math.IsInf(price, 0) {
		return 0, fmt.Errorf("price %s is not a finite non-negative number", text)
	}
	return price, nil
}

// shared are the books Shared has loaded, by path.
var shared = struct {
	sync.Mutex
	byPath map[string]*Book
}{byPath: map[string]*Book{}}

// Shared is LoadFile's book of path, loaded once per process: every component of a
// collector that prices reads the same file, and they share one book (about 2 MiB of
// heap). A Book is safe for concurrent use. A file that fails to load is read again by
// the next call.
func Shared(path string) (*Book, error) {
	shared.Lock()
	defer shared.Unlock()
	if b, ok := shared.byPath[path]; ok {
		return b, nil
	}
	b, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	shared.byPath[path] = b
	return b, nil
}
