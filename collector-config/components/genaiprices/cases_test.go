// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// dataFile is the data hypertool renders from the pinned genai-prices.
const dataFile = "../../generated/genai-prices.json"

// casesFile is testdata/cases.json, which testdata/make_cases.py writes from genai-prices
// itself: its version, its unit registry, and what its calc_price answers.
type casesFile struct {
	GenaiPrices string `json:"genai_prices"`
	Units       map[string]struct {
		PriceKey   string            `json:"price_key"`
		Per        float64           `json:"per"`
		Dimensions map[string]string `json:"dimensions"`
	} `json:"units"`
	Cases []priceCase `json:"cases"`
}

type priceCase struct {
	Name     string             `json:"name"`
	Provider *string            `json:"provider"`
	Model    string             `json:"model"`
	Time     string             `json:"time"`
	Usage    map[string]float64 `json:"usage"`
	Expect   struct {
		Error    string `json:"error"` // "no_match", "no_price", or none
		Provider string `json:"provider"`
		Model    string `json:"model"`
		Input    string `json:"input"`
		Output   string `json:"output"`
		Total    string `json:"total"`
	} `json:"expect"`
}

var (
	loadOnce sync.Once
	book     *Book
	cases    casesFile
	loadErr  error
)

// fixtures loads the committed data and cases once for every test and benchmark.
func fixtures(tb testing.TB) (*Book, *casesFile) {
	tb.Helper()
	loadOnce.Do(func() {
		if book, loadErr = LoadFile(dataFile); loadErr != nil {
			return
		}
		var data []byte
		if data, loadErr = os.ReadFile("testdata/cases.json"); loadErr != nil {
			return
		}
		loadErr = json.Unmarshal(data, &cases)
	})
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
	return book, &cases
}

func usageOf(counts map[string]float64) Usage {
	var u Usage
	for key, n := range counts {
		switch key {
		case "input_tokens":
			u.InputTokens = n
		case "cache_read_tokens":
			u.CacheReadTokens = n
		case "cache_write_tokens":
			u.CacheWriteTokens = n
		case "output_tokens":
			u.OutputTokens = n
		default:
			if u.Other == nil {
				u.Other = map[string]float64{}
			}
			u.Other[key] = n
		}
	}
	return u
}

// close reports whether got is the decimal want, to 1e-12 relative (0 exactly).
func closeTo(got float64, want string) bool {
	w, err := strconv.ParseFloat(want, 64)
	if err != nil {
		return false
	}
	if w == 0 {
		return got == 0
	}
	return math.Abs(got-w) <= 1e-12*math.Abs(w)
}

func TestCasesPriceAsGenaiPrices(t *testing.T) {
	b, cf := fixtures(t)
	if len(cf.Cases) < 300 {
		t.Fatalf("%d cases: make_cases.py writes more", len(cf.Cases))
	}
	kinds := map[string]int{}
	for i, c := range cf.Cases {
		kinds[c.Expect.Error]++
		provider := ""
		if c.Provider != nil {
			provider = *c.Provider
		}
		at, err := time.Parse(time.RFC3339Nano, c.Time)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		where := func() string {
			return strconv.Itoa(i) + " (" + c.Name + ") " + strconv.Quote(provider) + " " + strconv.Quote(c.Model) + " " + c.Time
		}
		m, found := b.Find(provider, c.Model)
		if c.Expect.Error == "no_match" {
			if found {
				t.Errorf("case %s: found %s/%s, genai-prices finds none", where(), m.Provider(), m.ID())
			}
			continue
		}
		if !found {
			t.Errorf("case %s: found nothing, genai-prices finds %s/%s", where(), c.Expect.Provider, c.Expect.Model)
			continue
		}
		if c.Expect.Provider != "" && (m.Provider() != c.Expect.Provider || m.ID() != c.Expect.Model) {
			t.Errorf("case %s: found %s/%s, genai-prices %s/%s", where(), m.Provider(), m.ID(), c.Expect.Provider, c.Expect.Model)
			continue
		}
		got, err := m.PriceAt(at).Breakdown(usageOf(c.Usage))
		if c.Expect.Error == "no_price" {
			if err == nil {
				t.Errorf("case %s usage %v: priced %v, genai-prices refuses", where(), c.Usage, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %s usage %v: %v, genai-prices prices %s", where(), c.Usage, err, c.Expect.Total)
			continue
		}
		if !closeTo(got.Input, c.Expect.Input) || !closeTo(got.Output, c.Expect.Output) || !closeTo(got.Total, c.Expect.Total) {
			t.Errorf("case %s usage %v: %+v, genai-prices input %s output %s total %s",
				where(), c.Usage, got, c.Expect.Input, c.Expect.Output, c.Expect.Total)
		}
		if usd, ok := b.Cost(provider, c.Model, at, usageOf(c.Usage)); !ok || usd != got.Total {
			t.Errorf("case %s: Book.Cost %v %v, Breakdown %v", where(), usd, ok, got.Total)
		}
	}
	t.Logf("%d cases: %d priced, %d found and refused, %d not found",
		len(cf.Cases), kinds[""], kinds["no_price"], kinds["no_match"])
	if kinds[""] < 1000 || kinds["no_price"] < 5 || kinds["no_match"] < 50 {
		t.Errorf("too few cases of a kind: %v", kinds)
	}
}

func TestVersionIsTheCases(t *testing.T) {
	_, cf := fixtures(t)
	if cf.GenaiPrices != GenaiPricesVersion {
		t.Fatalf("cases.json is from genai-prices %s, this package prices as %s: review the "+
			"changes of genai-prices' pricing, then update GenaiPricesVersion (units.go)", cf.GenaiPrices, GenaiPricesVersion)
	}
}

func TestUnitsAreGenaiPrices(t *testing.T) {
	_, cf := fixtures(t)
	if len(cf.Units) != len(units) {
		t.Errorf("genai-prices has %d units, units.go %d", len(cf.Units), len(units))
	}
	for _, u := range units {
		want, ok := cf.Units[u.usageKey]
		if !ok {
			t.Errorf("%s: not a unit of genai-prices", u.usageKey)
			continue
		}
		if want.PriceKey != u.priceKey || want.Per != u.per || len(want.Dimensions) != len(u.dimensions) {
			t.Errorf("%s: genai-prices %+v, units.go %+v", u.usageKey, want, u)
			continue
		}
		for k, v := range want.Dimensions {
			if u.dimensions[k] != v {
				t.Errorf("%s: dimension %s is %q, units.go %q", u.usageKey, k, v, u.dimensions[k])
			}
		}
	}
}
