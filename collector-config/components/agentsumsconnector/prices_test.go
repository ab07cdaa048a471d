// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package agentsumsconnector

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hypertool-observability/hypertool/collector/genaiprices"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const priceFile = "../../generated/genai-prices.json"

func pricedConfig() *Config {
	cfg := testConfig()
	cfg.MaxValue, cfg.MaxLabelBytes = 1e8, 128
	cfg.Counters = append(cfg.Counters,
		Counter{Metric: Metric{Name: "hypertool.llm.tokens"}, Labels: []string{"persona", "model", "token_type"}},
		Counter{Metric: Metric{Name: "hypertool.llm.cost_usd"}, Labels: []string{"persona", "model", "cost_source"}},
		Counter{Metric: Metric{Name: "hypertool.llm.unpriced_tokens"}, Labels: []string{"persona", "model"}},
	)
	cfg.Prices = Prices{
		File: priceFile, Tokens: "hypertool.llm.tokens", Cost: "hypertool.llm.cost_usd",
		Unpriced: "hypertool.llm.unpriced_tokens", PricedBy: "hypertool.llm.priced_by",
		ModelLabel: "model", TokenTypeLabel: "token_type", CostSourceLabel: "cost_source",
		Estimated: "estimated", Output: "output",
	}
	return cfg
}

func TestTheLibrarysTokensArePricedAtListPriceUnlessItPricedThem(t *testing.T) {
	cfg := pricedConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	if err := h.conn.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	tokens := func(model, tokenType string, n float64, extra ...string) pt {
		attrs := map[string]string{"persona": "be", "model": model, "token_type": tokenType}
		for i := 0; i+1 < len(extra); i += 2 {
			attrs[extra[i]] = extra[i+1]
		}
		return pt{value: n, int: true, attrs: attrs}
	}
	md := export("a", "hypertool_agent", map[string][]pt{"hypertool.llm.tokens": {
		tokens("gpt-4o-mini", "input", 1000),
		tokens("gpt-4o-mini", "output", 200),
		tokens("gpt-4o-mini", "input", 500, "hypertool.llm.priced_by", "user"),
		tokens("house-model-7b", "input", 7),
	}}, pmetric.AggregationTemporalityDelta)
	now := time.Now()
	for _, rm := range md.ResourceMetrics().All() {
		for _, dp := range rm.ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().All() {
			dp.SetTimestamp(pcommonTime(now))
		}
	}
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	book, err := genaiprices.LoadFile(priceFile)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := book.TokenPrice("", "gpt-4o-mini", now, false)
	out, _ := book.TokenPrice("", "gpt-4o-mini", now, true)
	got := totals(t, h.fleet)
	if want := (1000*in + 200*out) / 1e6; math.Abs(got["hypertool.llm.cost_usd persona=be model=gpt-4o-mini"]-want) > 1e-12 {
		t.Errorf("cost %v, want %v: the 500 tokens the library priced are not priced again", got["hypertool.llm.cost_usd persona=be model=gpt-4o-mini"], want)
	}
	if got["hypertool.llm.unpriced_tokens persona=be model=house-model-7b"] != 7 {
		t.Errorf("a model with no price counts as unpriced: %v", got)
	}
}

func TestAnUnreadablePriceFileStopsTheStart(t *testing.T) {
	cfg := pricedConfig()
	cfg.Prices.File = t.TempDir() + "/missing.json"
	h := newHarness(t, cfg)
	err := h.conn.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("got %v", err)
	}
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

func TestWithoutOthersTheExportIsReadNotChanged(t *testing.T) {
	cfg := testConfig()
	cfg.Others, cfg.SkipOthers = nil, true
	h := newHarness(t, cfg)
	if h.conn.Capabilities().MutatesData {
		t.Fatal("read-only without others: the collector then hands the export over uncopied")
	}
	md := export("a", "hypertool_agent", map[string][]pt{
		"hypertool.tokens": {{value: 3, attrs: map[string]string{"persona": "be", "model": "m"}}},
		"http.requests":    {{value: 1}},
	}, pmetric.AggregationTemporalityDelta)
	md.ResourceMetrics().At(0).Resource().Attributes().PutStr("hypertool.delivery.id", "p:1")
	before := pmetric.NewMetrics()
	md.CopyTo(before)
	md.MarkReadOnly() // a write would panic
	if err := h.conn.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if got := totals(t, h.fleet)["hypertool.tokens persona=be model=m"]; got != 3 {
		t.Errorf("summed %v, want 3", got)
	}
	if md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().Len() != before.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().Len() {
		t.Error("the export was changed")
	}
}
