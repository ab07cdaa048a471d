// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"strconv"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// ConsumeLogs counts the usage of producers that report it in log events only (one event
// per call: exact with any number of processes, no state). Every other record is counted
// unused: an event repeating usage that a metric reports (Claude Code's api_request)
// would count it twice.
func (g *genai) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b := g.newBatch()
	item := g.newItem()
	for _, rl := range ld.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		o := g.origin(res)
		for _, sl := range rl.ScopeLogs().All() {
			scope := sl.Scope().Name()
			notKept := 0
			for _, lr := range sl.LogRecords().All() {
				u := g.logUsage(lr)
				if u == nil {
					notKept++
					continue
				}
				g.logTokens(b, spanFrom{o, res, scope, true}, item, lr, u)
			}
			b.unused(o, g.cfg.Unused.Logs, g.cfg.Unused.Reasons.NotKept, scope, notKept)
		}
	}
	return g.flush(ctx, b)
}

// logUsage is the table entry a record is the usage event of, or nil. A record names its
// event in its EventName field or, the older way, in an attribute; either may match
// (Codex fills EventName with a source location and names the event in the attribute).
func (g *genai) logUsage(lr plog.LogRecord) *LogUsage {
	if len(g.cfg.LogUsage) == 0 {
		return nil
	}
	attrs := lr.Attributes()
	field, attribute := lr.EventName(), pdatautil.GetString(attrs, g.cfg.EventNameAttribute)
	for i := range g.cfg.LogUsage {
		u := &g.cfg.LogUsage[i]
		if (u.Event == field || u.Event == attribute) && matches(attrs, u.Where) {
			return u
		}
	}
	return nil
}

func matches(attrs pcommon.Map, where map[string]string) bool {
	for k, v := range where {
		if pdatautil.GetString(attrs, k) != v {
			return false
		}
	}
	return true
}

// logTokens counts one usage event: input and output each the sum of their attributes;
// a cost the producer reports is summed as it is, else the tokens are priced.
func (g *genai) logTokens(b *batch, from spanFrom, item []string, lr plog.LogRecord, u *LogUsage) {
	attrs := lr.Attributes()
	in, reason := g.sumOf(attrs, u.Input)
	out, outReason := g.sumOf(attrs, u.Output)
	if reason == "" {
		reason = outReason
	}
	if reason != "" {
		b.unused(from.o, g.cfg.Unused.Logs, reason, from.scope, 1)
		return
	}
	g.resolve(item, attrs, from.res)
	stamp := lr.Timestamp()
	if stamp == 0 {
		stamp = lr.ObservedTimestamp()
	}
	if u.Cost == "" {
		use := pendingUse{o: from.o, item: item, scope: from.scope, in: in, out: out, provider: g.provider(attrs, from.res), end: stamp}
		g.countUse(b, &use)
		return
	}
	s := g.cfg.Series
	g.emit(b, from.o, item, in, s.Input, 0, false, true)
	g.emit(b, from.o, item, out, s.Output, 0, false, true)
	// A cost that is no number, or a bad one, is not summed, and counted: its tokens are.
	usd, reason := g.sumOf(attrs, []string{u.Cost})
	switch {
	case reason != "":
		b.unused(from.o, g.cfg.Unused.Logs, reason, from.scope, 1)
	case hasKey(attrs, u.Cost):
		item[g.costSource] = s.Reported
		g.addCost(b, from.o, item, usd)
	}
}

func hasKey(attrs pcommon.Map, key string) bool {
	_, ok := attrs.Get(key)
	return ok
}

// sumOf adds up the attributes that are set; a value that is no number, or a bad one,
// makes the whole event unused.
func (g *genai) sumOf(attrs pcommon.Map, keys []string) (float64, string) {
	total := 0.0
	for _, k := range keys {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		f, isNumber := asNumber(v)
		if !isNumber {
			return 0, g.cfg.Unused.Reasons.NotANumber
		}
		if reason := g.badValue(f); reason != "" {
			return 0, reason
		}
		total += f
	}
	return total, g.badValue(total)
}

// asNumber reads an int, a double, or a number written as a string (some producers log
// their counts as strings).
func asNumber(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil
	default:
		return 0, false
	}
}
