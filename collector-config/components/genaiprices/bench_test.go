// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkFind: a cached lookup, as on the collector's hot path.
func BenchmarkFind(b *testing.B) {
	book, _ := fixtures(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := book.Find("anthropic", "claude-sonnet-4-5"); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkFindParallel: cached lookups from every core at once.
func BenchmarkFindParallel(b *testing.B) {
	book, _ := fixtures(b)
	names := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-pro", "deepseek-chat", "o3-mini"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			book.Find("", names[i%len(names)])
			i++
		}
	})
}

// BenchmarkFindUncached: a lookup the cache does not hold (the first of each name).
func BenchmarkFindUncached(b *testing.B) {
	data, err := os.ReadFile(dataFile)
	if err != nil {
		b.Fatal(err)
	}
	book, err := Load(strings.NewReader(string(data)), WithCacheSize(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		book.Find("", "claude-sonnet-4-5")
	}
}

// BenchmarkCost: the prices in force (a dated model) and the cost of a usage with
// cached tokens, for a model already found.
func BenchmarkCost(b *testing.B) {
	book, _ := fixtures(b)
	m, ok := book.Find("anthropic", "claude-sonnet-4-5")
	if !ok {
		b.Fatal("not found")
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	u := Usage{InputTokens: 12_000, CacheReadTokens: 8_000, CacheWriteTokens: 1_000, OutputTokens: 700}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.PriceAt(at).Cost(u); !ok {
			b.Fatal("not priced")
		}
	}
}

// BenchmarkBookCost: Find, PriceAt and Cost together, for a time-of-day priced model.
func BenchmarkBookCost(b *testing.B) {
	book, _ := fixtures(b)
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	u := Usage{InputTokens: 12_000, CacheReadTokens: 8_000, OutputTokens: 700}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := book.Cost("deepseek", "deepseek-chat", at, u); !ok {
			b.Fatal("not priced")
		}
	}
}

// BenchmarkLoad: reading and compiling the whole data file, once at start.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile(dataFile)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(strings.NewReader(string(data))); err != nil {
			b.Fatal(err)
		}
	}
}
