// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

// GenaiPricesVersion is the genai-prices release whose data and unit registry this package
// prices as: the version pinned in packages/tools/pyproject.toml, whose data `hypertool
// render` writes to collector-config/generated/genai-prices.json. The data file, a bare
// array of providers, cannot say it itself; the tests check this against
// testdata/cases.json, which make_cases.py writes from the same package.
const GenaiPricesVersion = "0.2.3"

// unitDef is one unit of genai-prices' unit registry (genai_prices/data_units.py): a
// usage key, the price key that prices it, the count its price is per, and the
// dimensions that place it in the lattice (a unit whose dimensions hold another's is
// part of it: cache reads are input tokens).
type unitDef struct {
	usageKey   string
	priceKey   string
	per        float64
	dimensions map[string]string
}

// units is genai-prices' unit registry, in its order (no price depends on the order).
// TestUnitsAreGenaiPrices compares it with the registry make_cases.py writes into
// testdata/cases.json from genai-prices' genai_prices/data_units.py.
var units = [...]unitDef{
	{"input_tokens", "input_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input"}},
	{"output_tokens", "output_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output"}},
	{"cache_read_tokens", "cache_read_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "token_type": "cache_read"}},
	{"cache_write_tokens", "cache_write_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "token_type": "cache_write"}},
	{"cache_write_5m_tokens", "cache_write_5m_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "token_type": "cache_write", "cache_ttl": "5m"}},
	{"cache_write_1h_tokens", "cache_write_1h_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "token_type": "cache_write", "cache_ttl": "1h"}},
	{"input_text_tokens", "input_text_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text"}},
	{"output_text_tokens", "output_text_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "text"}},
	{"cache_text_read_tokens", "cache_text_read_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text", "token_type": "cache_read"}},
	{"cache_text_write_tokens", "cache_text_write_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text", "token_type": "cache_write"}},
	{"cache_text_write_5m_tokens", "cache_text_write_5m_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text", "token_type": "cache_write", "cache_ttl": "5m"}},
	{"cache_text_write_1h_tokens", "cache_text_write_1h_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text", "token_type": "cache_write", "cache_ttl": "1h"}},
	{"input_audio_tokens", "input_audio_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio"}},
	{"output_audio_tokens", "output_audio_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "audio"}},
	{"cache_audio_read_tokens", "cache_audio_read_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio", "token_type": "cache_read"}},
	{"cache_audio_write_tokens", "cache_audio_write_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio", "token_type": "cache_write"}},
	{"cache_audio_write_5m_tokens", "cache_audio_write_5m_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio", "token_type": "cache_write", "cache_ttl": "5m"}},
	{"cache_audio_write_1h_tokens", "cache_audio_write_1h_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio", "token_type": "cache_write", "cache_ttl": "1h"}},
	{"input_image_tokens", "input_image_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image"}},
	{"output_image_tokens", "output_image_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "image"}},
	{"cache_image_read_tokens", "cache_image_read_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image", "token_type": "cache_read"}},
	{"cache_image_write_tokens", "cache_image_write_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image", "token_type": "cache_write"}},
	{"cache_image_write_5m_tokens", "cache_image_write_5m_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image", "token_type": "cache_write", "cache_ttl": "5m"}},
	{"cache_image_write_1h_tokens", "cache_image_write_1h_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image", "token_type": "cache_write", "cache_ttl": "1h"}},
	{"input_video_tokens", "input_video_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video"}},
	{"output_video_tokens", "output_video_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "video"}},
	{"cache_video_read_tokens", "cache_video_read_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video", "token_type": "cache_read"}},
	{"cache_video_write_tokens", "cache_video_write_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video", "token_type": "cache_write"}},
	{"cache_video_write_5m_tokens", "cache_video_write_5m_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video", "token_type": "cache_write", "cache_ttl": "5m"}},
	{"cache_video_write_1h_tokens", "cache_video_write_1h_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video", "token_type": "cache_write", "cache_ttl": "1h"}},
	{"input_tool_tokens", "input_tool_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "token_type": "tool"}},
	{"input_text_tool_tokens", "input_text_tool_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "text", "token_type": "tool"}},
	{"input_audio_tool_tokens", "input_audio_tool_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "audio", "token_type": "tool"}},
	{"input_image_tool_tokens", "input_image_tool_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "image", "token_type": "tool"}},
	{"input_video_tool_tokens", "input_video_tool_mtok", 1000000, map[string]string{"family": "tokens", "direction": "input", "modality": "video", "token_type": "tool"}},
	{"output_reasoning_tokens", "output_reasoning_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "token_type": "reasoning"}},
	{"output_text_reasoning_tokens", "output_text_reasoning_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "text", "token_type": "reasoning"}},
	{"output_audio_reasoning_tokens", "output_audio_reasoning_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "audio", "token_type": "reasoning"}},
	{"output_image_reasoning_tokens", "output_image_reasoning_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "image", "token_type": "reasoning"}},
	{"output_video_reasoning_tokens", "output_video_reasoning_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "video", "token_type": "reasoning"}},
	{"output_citation_tokens", "output_citation_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "token_type": "citation"}},
	{"output_text_citation_tokens", "output_text_citation_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "text", "token_type": "citation"}},
	{"output_audio_citation_tokens", "output_audio_citation_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "audio", "token_type": "citation"}},
	{"output_image_citation_tokens", "output_image_citation_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "image", "token_type": "citation"}},
	{"output_video_citation_tokens", "output_video_citation_mtok", 1000000, map[string]string{"family": "tokens", "direction": "output", "modality": "video", "token_type": "citation"}},
	{"input_characters", "input_mchars", 1000000, map[string]string{"family": "characters", "direction": "input"}},
	{"input_text_messages", "input_text_messages_kcount", 1000, map[string]string{"family": "messages", "direction": "input", "modality": "text"}},
	{"audio_seconds", "audio_hours", 3600, map[string]string{"family": "durations", "modality": "audio"}},
	{"input_audio_seconds", "input_audio_hours", 3600, map[string]string{"family": "durations", "direction": "input", "modality": "audio"}},
	{"output_audio_seconds", "output_audio_hours", 3600, map[string]string{"family": "durations", "direction": "output", "modality": "audio"}},
	{"input_pixels", "input_gpixels", 1000000000, map[string]string{"family": "pixels", "direction": "input"}},
	{"input_document_pages", "input_document_kpages", 1000, map[string]string{"family": "document_pages", "direction": "input"}},
	{"input_annotated_document_pages", "input_annotated_document_kpages", 1000, map[string]string{"family": "document_pages", "direction": "input", "page_type": "annotated"}},
	{"rerank_searches", "rerank_searches_kcount", 1000, map[string]string{"family": "rerank"}},
	{"web_searches", "web_searches_kcount", 1000, map[string]string{"family": "tool_calls", "tool_type": "web_search"}},
	{"social_searches", "social_searches_kcount", 1000, map[string]string{"family": "tool_calls", "tool_type": "social_search"}},
	{"storage_searches", "storage_searches_kcount", 1000, map[string]string{"family": "tool_calls", "tool_type": "storage_search"}},
	{"code_executions", "code_executions_kcount", 1000, map[string]string{"family": "tool_calls", "tool_type": "code_execution"}},
	{"requests", "requests_kcount", 1000, map[string]string{"family": "requests"}},
}

// unitSet is a set of units, by their index in units.
type unitSet uint64

// The registry's structure, derived once from units.
var (
	unitByUsageKey = map[string]int{}
	unitByPriceKey = map[string]int{}
	// ancestors[u]: the units u is part of (their dimensions are a proper subset of u's).
	ancestors [len(units)]unitSet
	// descendants[u]: the units part of u.
	descendants [len(units)]unitSet
	// joins[u]: pairs of units, neither part of the other, that together make u (their
	// dimensions' union is u's): both reported while u is not, genai-prices cannot tell
	// u's count.
	joins [len(units)][]unitSet
	// direction[u]: +1 input, -1 output, 0 neither (in genai-prices' input and output
	// price only, all in the total).
	direction [len(units)]int8
	// reportable: the units a usage can report (all but requests, which genai-prices
	// counts as one per calculation).
	reportable unitSet
)

// Indexes of the units Usage names.
var (
	unitInput      = mustUnit("input_tokens")
	unitOutput     = mustUnit("output_tokens")
	unitCacheRead  = mustUnit("cache_read_tokens")
	unitCacheWrite = mustUnit("cache_write_tokens")
	unitRequests   = mustUnit("requests")
	unitAudioSecs  = mustUnit("audio_seconds")
	unitInAudioSec = mustUnit("input_audio_seconds")
)

// A unitSet holds 64 units: a registry with more does not compile.
var _ [64 - len(units)]struct{}

func init() {
	for i, u := range units {
		unitByUsageKey[u.usageKey] = i
		unitByPriceKey[u.priceKey] = i
		switch u.dimensions["direction"] {
		case "input":
			direction[i] = 1
		case "output":
			direction[i] = -1
		}
		if u.usageKey != "requests" {
			reportable |= 1 << i
		}
	}
	for i := range units {
		for j := range units {
			if i != j && partOf(j, i) {
				ancestors[j] |= 1 << i
				descendants[i] |= 1 << j
			}
		}
	}
	for u := range units {
		for l := range units {
			for r := l + 1; r < len(units); r++ {
				if !compatible(l, r) || partOf(l, r) || partOf(r, l) {
					continue
				}
				if joinOf(l, r) == u {
					joins[u] = append(joins[u], 1<<l|1<<r)
				}
			}
		}
	}
}

func mustUnit(usageKey string) int {
	for i, u := range units {
		if u.usageKey == usageKey {
			return i
		}
	}
	panic("genaiprices: no unit " + usageKey) // a programming error, caught by any test
}

// partOf: unit d is part of unit a, or is a (genai-prices' is_descendant_or_self(a, d)).
func partOf(d, a int) bool {
	for k, v := range units[a].dimensions {
		if units[d].dimensions[k] != v {
			return false
		}
	}
	return true
}

// compatible: no dimension of a and b differs (genai-prices' is_compatible_with).
func compatible(a, b int) bool {
	for k, v := range units[a].dimensions {
		if w, ok := units[b].dimensions[k]; ok && w != v {
			return false
		}
	}
	return true
}

// joinOf is the unit whose dimensions are the union of a's and b's, or -1.
func joinOf(a, b int) int {
	union := map[string]string{}
	for k, v := range units[a].dimensions {
		union[k] = v
	}
	for k, v := range units[b].dimensions {
		union[k] = v
	}
	for i, u := range units {
		if len(u.dimensions) != len(union) {
			continue
		}
		same := true
		for k, v := range union {
			if u.dimensions[k] != v {
				same = false
				break
			}
		}
		if same {
			return i
		}
	}
	return -1
}
