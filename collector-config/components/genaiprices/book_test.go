// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// oneModel is a data file with one provider "p" and one model "m" priced as prices.
func oneModel(match, prices string) string {
	return `[{"id": "p", "name": "P", "models": [{"id": "m", "match": ` + match + `, "prices": ` + prices + `}]}]`
}

func TestLoadErrorsSayWhatAndWhere(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{}`, "expected a JSON array of providers"},
		{`[`, "not genai-prices' data"},
		{`[{"name": "no id", "models": []}]`, `provider 0 (""): no id`},
		{oneModel(`{"bogus": "x"}`, `{}`), `provider 0 ("p"): model 0 ("m"): match: unknown match clause "bogus"`},
		{oneModel(`{"equals": "a", "contains": "b"}`, `{}`), "a match clause has one key, not 2"},
		{oneModel(`null`, `{}`), `model 0 ("m"): no match`},
		{oneModel(`{"or": [{"equals": "a"}, {"regex": "(?<=a)b"}]}`, `{}`), `match: or[1]: regex "(?<=a)b": regex feature`},
		{oneModel(`{"regex": "\\bfoo"}`, `{}`), `the escape \b`},
		{oneModel(`{"regex": "(a)\\1"}`, `{}`), `the escape \1`},
		{oneModel(`{"regex": "(?i)abc"}`, `{}`), `the group at "(?i)abc"`},
		{oneModel(`{"regex": "[[:alpha:]]"}`, `{}`), "a [ inside a set"},
		{oneModel(`{"regex": "^(?!a)b|c"}`, `{}`), "a lookahead before an alternation"},
		{oneModel(`{"regex": "a{2000}"}`, `{}`), `(as Go "a{2000}")`},
		{oneModel(`{"equals": "m"}`, `{"input_mtok": 1, "bogus_mtok": 2}`), "bogus_mtok: a price key genai-prices"},
		{oneModel(`{"equals": "m"}`, `{"input_mtok": -1}`), "input_mtok: price -1 is not a finite non-negative number"},
		{oneModel(`{"equals": "m"}`, `{"input_mtok": "1"}`), `input_mtok: price "1" is not`},
		{oneModel(`{"equals": "m"}`, `{"input_mtok": {"base": 1, "tiers": [{"start": 1.5, "price": 2}]}}`), "tier 0: start 1.5 is not a count"},
		{oneModel(`{"equals": "m"}`, `{"input_mtok": {"base": 1}}`), "tiered prices without base or tiers"},
		{oneModel(`{"equals": "m"}`, `[]`), "prices: an empty list"},
		{oneModel(`{"equals": "m"}`, `[{"constraint": {"start_date": "2025-13-01"}, "prices": {}}]`), "prices: 0: constraint: start_date"},
		{oneModel(`{"equals": "m"}`, `[{"constraint": {"start_time": "25:00:00Z", "end_time": "01:00:00Z"}, "prices": {}}]`), "start_time"},
		{oneModel(`{"equals": "m"}`, `[{"constraint": {"weekday": 1}, "prices": {}}]`), "neither a start_date nor"},
	} {
		_, err := Load(strings.NewReader(tc.data))
		if err == nil || !strings.HasPrefix(err.Error(), "genaiprices: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s): %v; want an error with %q", tc.data, err, tc.want)
		}
	}
}

func TestLoadFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := LoadFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadFile(missing): %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(oneModel(`{"regex": "\\w"}`, `{}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.HasPrefix(err.Error(), "genaiprices: "+bad+": provider 0") {
		t.Errorf("LoadFile(bad): %v", err)
	}
}

// TestRegexesMatchAsPython: patterns of the data and others, and what Python's re.search
// answers for them (checked with Python 3.11).
func TestRegexesMatchAsPython(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{
			`^(?![^/]+/)(?:labs-)?(?:(?:mi|code|dev|magi|mini)stral|mixtral|pixtral|voxtral|open-(?:mistral|mixtral))`,
			[]string{"mistral-large", "labs-ministral-8b", "open-mixtral-8x7b"},
			[]string{"models/mistral-large", "a/mistral", "mistral/x", "xmistral", "labs-x"},
		},
		{
			`^(?!.*-[tT][tT][sS](?:$|-))`,
			[]string{"gemini-2.5-pro", "x-ttsy", "", "x-tts\n\n"},
			[]string{"x-tts", "x-tts\n", "x-tts-y", "a-b-tts"},
		},
		{
			`^grok-4\.3-\d{8}$`,
			[]string{"grok-4.3-20250101", "grok-4.3-20250101\n", "grok-4.3-2025010\u0666"},
			[]string{"grok-4.3-20250101\n\n", "grok-4.3-2025010", "xgrok-4.3-20250101"},
		},
		{`^o[134]`, []string{"o1", "o3-mini", "o4"}, []string{"o2", "xo1", "O1"}},
		{`a{,2}b`, []string{"b", "aab", "xaaab"}, []string{"a{,2}c", "aa"}},
		{`[]a]x`, []string{"]x", "ax"}, []string{"bx"}},
		{`[^]a]x`, []string{"bx"}, []string{"]x", "ax", "x"}},
		{`^(?=ab)a`, []string{"abc"}, []string{"ac", "ba"}},
		{`^(?!a)(?!b)c`, []string{"cd"}, []string{"ad", "bd", "dc"}},
		{`abc\Z`, []string{"abc", "xabc"}, []string{"abc\n"}},
		{`^x\d\D$`, []string{"x1a", "x\u0661a"}, []string{"x11", "xa1"}},
		{`(?P<v>v\.)\.`, []string{"v.."}, []string{"v."}},
	} {
		c, err := compileRegex(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.yes {
			if !c.match(s) {
				t.Errorf("%q does not match %q; Python's re.search does", tc.pattern, s)
			}
		}
		for _, s := range tc.no {
			if c.match(s) {
				t.Errorf("%q matches %q; Python's re.search does not", tc.pattern, s)
			}
		}
	}
}

func TestCompactDatesAsGenaiPrices(t *testing.T) {
	for in, want := range map[string]string{
		"gpt-5.2-20251211":          "gpt-5.2-2025-12-11",
		"x-20251211-20260101":       "x-2025-12-11-2026-01-01",
		"x-20251211:free":           "x-2025-12-11:free",
		"x-20251211\n":              "x-2025-12-11\n",
		"x-20251211\n\n":            "x-20251211\n\n",
		"x-20251211x":               "x-20251211x",
		"x-20250231":                "x-20250231",
		"x-20240229":                "x-2024-02-29",
		"x-20230229":                "x-20230229",
		"x-20000229":                "x-2000-02-29",
		"x-20241301":                "x-20241301",
		"x-19991211":                "x-19991211",
		"x-202\u06651211":           "x-2025-12-11",
		"x-2025121\u0661":           "x-2025-12-11",
		"x-2025\u06611211":          "x-2025\u06611211",
		"x-20250231-20250101":       "x-20250231-2025-01-01",
		"--20250101":                "--2025-01-01",
		"x-20250101-20250101\u0130": "x-2025-01-01-20250101\u0130",
		"x-202":                     "x-202",
	} {
		if got := normalizeCompactDates(in); got != want {
			t.Errorf("normalizeCompactDates(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPythonStringFunctions(t *testing.T) {
	for in, want := range map[string]string{"GPT-4o": "gpt-4o", "\u0130x": "i\u0307x", "ÀÉ-Ω": "àé-ω", "": ""} {
		if got := pyLower(in); got != want {
			t.Errorf("pyLower(%q) = %q, want %q", in, got, want)
		}
	}
	if got := pyStrip("\x1c\t openai \u3000\x1f"); got != "openai" {
		t.Errorf("pyStrip: %q", got)
	}
	if got := pyStrip("\u200bopenai"); got != "\u200bopenai" {
		t.Errorf("pyStrip strips a zero-width space, Python does not: %q", got)
	}
}

// TestDigitsComeInRunsOfTen: digitValue relies on it, as Python's int() on Unicode digits.
func TestDigitsComeInRunsOfTen(t *testing.T) {
	for _, r := range unicode.Nd.R16 {
		if r.Stride != 1 || (r.Hi-r.Lo+1)%10 != 0 {
			t.Errorf("Nd range %#x-%#x", r.Lo, r.Hi)
		}
	}
	for _, r := range unicode.Nd.R32 {
		if r.Stride != 1 || (r.Hi-r.Lo+1)%10 != 0 {
			t.Errorf("Nd range %#x-%#x", r.Lo, r.Hi)
		}
	}
	if v, ok := digitValue('\U0001D7D7'); !ok || v != 9 { // MATHEMATICAL BOLD DIGIT NINE
		t.Errorf("digitValue: %d %v", v, ok)
	}
}

func TestFallbackModels(t *testing.T) {
	b, _ := fixtures(t)
	m, ok := b.Find("azure", "claude-sonnet-4-5")
	if !ok || m.Provider() != "azure" || m.ListedBy() != "anthropic" || m.ProviderName() != "Microsoft Azure" {
		t.Fatalf("azure's claude: %v %+v", ok, m)
	}
	m, ok = b.Find("", "gpt-4o")
	if !ok || m.Provider() != "openai" || m.ListedBy() != "openai" || m.ID() != "gpt-4o" || m.Name() == "" {
		t.Fatalf("gpt-4o: %v %+v", ok, m)
	}
}

func TestUsage(t *testing.T) {
	b, _ := fixtures(t)
	m, ok := b.Find("openai", "gpt-4o")
	if !ok {
		t.Fatal("no gpt-4o")
	}
	prices := m.PriceAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, u := range []Usage{
		{InputTokens: -1},
		{OutputTokens: math.NaN()},
		{CacheReadTokens: math.Inf(1), InputTokens: 1},
		{Other: map[string]float64{"input_audio_tokens": -2}},
		{Other: map[string]float64{"input_tokens": 10}},
		{InputTokens: 10, CacheReadTokens: 11},
		{CacheReadTokens: 11},
	} {
		if _, err := prices.Breakdown(u); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: %v, want ErrUsage", u, err)
		}
		if _, ok := prices.Cost(u); ok {
			t.Errorf("%+v: priced", u)
		}
	}
	base, _ := prices.Breakdown(Usage{InputTokens: 1000, OutputTokens: 100})
	ignored, _ := prices.Breakdown(Usage{InputTokens: 1000, OutputTokens: 100, Other: map[string]float64{"requests": 4, "bogus": 1}})
	if base != ignored || base.Unpriced || base.Total <= 0 || base.Total != base.Input+base.Output {
		t.Errorf("keys genai-prices ignores change the price: %+v %+v", base, ignored)
	}
	if b, _ := prices.Breakdown(Usage{InputTokens: 1000, CacheReadTokens: 500}); b.Unpriced {
		t.Errorf("cache reads are priced: %+v", b)
	}
	if b, _ := prices.Breakdown(Usage{InputTokens: 1000, Other: map[string]float64{"rerank_searches": 2}}); !b.Unpriced || b.Total != base.Input {
		t.Errorf("gpt-4o has no price for reranking: %+v", b)
	}
	if _, ok := (Prices{}).Cost(Usage{InputTokens: 1}); ok {
		t.Error("the zero Prices priced a usage")
	}
}

func TestAdditive(t *testing.T) {
	b, _ := fixtures(t)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		provider, model string
		additive        bool
	}{
		{"openai", "gpt-4o", true},
		{"deepseek", "deepseek-chat", true},
		{"anthropic", "claude-sonnet-4-5", false}, // tiers
		{"perplexity", "sonar-pro", false},        // a price per request
		{"groq", "whisper-large-v3", false},       // a minimum of 10 s
		{"openai", "whisper-1", true},
	} {
		m, ok := b.Find(tc.provider, tc.model)
		if !ok {
			t.Fatalf("no %s/%s", tc.provider, tc.model)
		}
		if got := m.PriceAt(at).Additive(); got != tc.additive {
			t.Errorf("%s/%s: Additive() = %v", tc.provider, tc.model, got)
		}
	}
	if (Prices{}).Additive() {
		t.Error("the zero Prices is additive")
	}
}

func TestPricesGenaiPricesRefuses(t *testing.T) {
	b, err := Load(strings.NewReader(oneModel(`{"equals": "m"}`, `{"cache_read_mtok": 1, "output_mtok": 2}`)))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := b.Find("p", "M")
	if !ok {
		t.Fatal("no m")
	}
	if _, err := m.PriceAt(time.Now()).Breakdown(Usage{OutputTokens: 1}); !errors.Is(err, ErrPrices) || !strings.Contains(err.Error(), "input_mtok is not") {
		t.Errorf("a cache price without an input price: %v", err)
	}
}

func TestTimesOfDayInOtherZones(t *testing.T) {
	// 08:30+08:00 to 00:30+08:00 is 00:30 to 16:30 UTC.
	b, err := Load(strings.NewReader(oneModel(`{"equals": "m"}`, `[
		{"prices": {"input_mtok": 1}},
		{"constraint": {"start_time": "08:30:00+08:00", "end_time": "00:30:00.000001+08:00"}, "prices": {"input_mtok": 2}}]`)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := b.Find("p", "m")
	for at, want := range map[time.Time]float64{
		time.Date(2026, 1, 1, 0, 29, 59, 999999999, time.UTC):           1,
		time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC):                    2,
		time.Date(2026, 1, 1, 16, 30, 0, 0, time.UTC):                   2,
		time.Date(2026, 1, 1, 16, 30, 0, 1000, time.UTC):                1,
		time.Date(2026, 1, 1, 9, 0, 0, 0, time.FixedZone("x", 9*3600)):  1, // 00:00 UTC
		time.Date(2026, 1, 1, 9, 45, 0, 0, time.FixedZone("x", 9*3600)): 2, // 00:45 UTC
		time.Date(1950, 1, 1, 12, 0, 0, 0, time.UTC):                    2,
	} {
		if usd, _ := m.PriceAt(at).Cost(Usage{InputTokens: 1e6}); usd != want {
			t.Errorf("at %v: %v, want %v", at, usd, want)
		}
	}
}

func TestCacheIsBoundedAndRight(t *testing.T) {
	data, err := os.ReadFile(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	small, err := Load(strings.NewReader(string(data)), WithCacheSize(32))
	if err != nil {
		t.Fatal(err)
	}
	none, err := Load(strings.NewReader(string(data)), WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		small.Find("", fmt.Sprintf("no-such-model-%d", i))
	}
	if entries := small.cache.len(); entries > 32 {
		t.Errorf("the cache holds %d lookups, its bound is 32", entries)
	}
	for _, b := range []*Book{small, none} {
		for range 3 {
			if m, ok := b.Find("openai", "gpt-4o"); !ok || m.ID() != "gpt-4o" {
				t.Errorf("gpt-4o: %v %v", m, ok)
			}
			if _, ok := b.Find("openai", "no-such-model"); ok {
				t.Error("found no-such-model")
			}
		}
	}
}

// TestConcurrentUse: many goroutines, cache hits, misses and evictions (run with -race).
func TestConcurrentUse(t *testing.T) {
	_, cf := fixtures(t)
	data, err := os.ReadFile(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(strings.NewReader(string(data)), WithCacheSize(64))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				c := cf.Cases[(g*131+i*17)%len(cf.Cases)]
				provider := ""
				if c.Provider != nil {
					provider = *c.Provider
				}
				m, ok := b.Find(provider, c.Model)
				if ok != (c.Expect.Error != "no_match") {
					t.Errorf("%q %q: found %v", provider, c.Model, ok)
					return
				}
				if ok {
					m.PriceAt(time.Now()).Cost(usageOf(c.Usage))
				}
			}
		})
	}
	wg.Wait()
}

func TestTokenPriceIsTheBaseTierPerMillion(t *testing.T) {
	b, err := LoadFile("../../generated/genai-prices.json")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, output := range []bool{false, true} {
		price, ok := b.TokenPrice("", "gpt-4o-mini", at, output)
		usage := Usage{InputTokens: 1}
		if output {
			usage = Usage{OutputTokens: 1}
		}
		want, wantOK := b.Cost("", "gpt-4o-mini", at, usage)
		if !ok || !wantOK || math.Abs(price-want*1e6) > 1e-9 {
			t.Errorf("output=%v: %v %v, want %v", output, price, ok, want*1e6)
		}
	}
	if _, ok := b.TokenPrice("not.a.provider", "gpt-4o-mini", at, false); !ok {
		t.Error("an unknown provider is retried without it")
	}
	if _, ok := b.TokenPrice("", "house-model-7b", at, false); ok {
		t.Error("an unknown model has no price")
	}
	// Perplexity's sonar: $1 per million tokens, plus a price per request left out.
	if price, ok := b.TokenPrice("perplexity", "sonar", at, false); !ok || math.Abs(price-1) > 1e-9 {
		t.Errorf("sonar input: %v %v, want 1 USD per million tokens", price, ok)
	}
}

func TestSharedLoadsAFileOnce(t *testing.T) {
	a, err := Shared("../../generated/genai-prices.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Shared("../../generated/genai-prices.json")
	if err != nil || a != b {
		t.Fatalf("the same book twice: %p %p %v", a, b, err)
	}
	if _, err := Shared("missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("a missing file is an error naming it: %v", err)
	}
}
