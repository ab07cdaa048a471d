// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"time"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ConsumeTraces makes series of spans: the library's spans become durations and runs,
// a handoff between agents a persona switch, and the usage on the spans of a producer
// that reports it nowhere else counts as tokens. Every other span is counted as unused
// (kept only as a trace, where a traces backend is configured).
func (g *genai) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	b := g.newBatch()
	item := g.newItem()
	var a arrivals
	for _, rs := range td.ResourceSpans().All() {
		res := rs.Resource().Attributes()
		o := g.origin(res)
		for _, ss := range rs.ScopeSpans().All() {
			scope := ss.Scope().Name()
			spanUsage := hasAnyPrefix(scope, g.spanUsage)
			for _, span := range ss.Spans().All() {
				g.span(b, &a, spanFrom{o, res, scope, spanUsage}, item, span)
			}
		}
	}
	if g.tracker == nil {
		return g.flush(ctx, b)
	}
	g.settle(b, &a)
	if err := g.flush(ctx, b); err != nil {
		return err
	}
	g.journalDone(b)
	return nil
}

// perAgent is how a span's usage finds its agent: named says a usage span may name it
// (usage_agents), tracking that agent spans are followed up the trace.
type perAgent struct{ named, tracking bool }

// perAgent: nothing for a span or resource that names its persona explicitly; no agent
// spans in an ignored scope.
func (g *genai) perAgent(attrs, res pcommon.Map, scope string) perAgent {
	if g.tracker == nil || g.explicit(attrs, res) {
		return perAgent{}
	}
	return perAgent{named: true, tracking: !hasAnyPrefix(scope, g.cfg.Attribution.IgnoreScopes)}
}

// spanFrom is where a span comes from: its sender, resource and instrumentation scope.
type spanFrom struct {
	o         origin
	res       pcommon.Map
	scope     string
	spanUsage bool
}

func (g *genai) span(b *batch, a *arrivals, from spanFrom, item []string, span ptrace.Span) {
	attrs := span.Attributes()
	if v, ok := attrs.Get(g.cfg.SpanSeries.TypeAttribute); ok {
		if !g.librarySpan(b, from.o, from.scope, pdatautil.AsString(v), span) {
			b.unused(from.o, g.cfg.Unused.Traces, g.cfg.Unused.Reasons.TracesOnly, from.scope, 1)
		}
		return
	}
	g.otherSpan(b, a, from, item, span)
}

// otherSpan is a span that is not the library's: an agent's, a handoff, usage, or unused.
func (g *genai) otherSpan(b *batch, a *arrivals, from spanFrom, item []string, span ptrace.Span) {
	attrs := span.Attributes()
	o, res, scope := from.o, from.res, from.scope
	reasons := &g.cfg.Unused.Reasons
	per := g.perAgent(attrs, res, scope)
	if per.tracking {
		agent := g.agentName(attrs)
		a.link(span, agent)
		if agent != "" {
			// Its usage, where it reports any, is its calls' again.
			g.agentSpan(b, a, from, item, span, agent)
			return
		}
	}
	h := g.cfg.Handoff
	if h.Operation != "" && pdatautil.GetString(attrs, h.OperationAttribute) == h.Operation {
		if _, ok := attrs.Get(h.To); ok {
			if per.tracking {
				a.handoffs = append(a.handoffs, span.TraceID())
			}
			g.resolve(item, attrs, res)
			item[g.from] = g.spanLabel(attrs, h.From, h.NoFrom)
			item[g.to] = g.spanLabel(attrs, h.To, "")
			b.add(o, g.switches, item, 1)
			return
		}
	}
	input, inputSet := firstSet(attrs, g.cfg.SpanUsage.Input)
	output, outputSet := firstSet(attrs, g.cfg.SpanUsage.Output)
	switch {
	case !inputSet && !outputSet:
		b.unused(o, g.cfg.Unused.Traces, reasons.TracesOnly, scope, 1)
	case !from.spanUsage:
		// Counted from the producer's usage metric: the same calls.
		b.unused(o, g.cfg.Unused.Traces, reasons.SpanUsageIgnored, scope, 1)
	default:
		g.spanTokens(b, a, from, item, span, input, output, per)
	}
}

// agentSpan observes an agent's time in its persona, and waits for the agent that
// called it, if any: a switch from that agent to this one.
func (g *genai) agentSpan(b *batch, a *arrivals, from spanFrom, item []string, span ptrace.Span, agent string) {
	g.resolve(item, span.Attributes(), from.res)
	item[g.persona] = agent
	b.observe(from.o, g.agentDuration, item, spanSeconds(span))
	use := &pendingUse{
		o: from.o, item: append([]string(nil), item...), scope: from.scope,
		parent: span.ParentSpanID(), since: time.Now(), agent: agent,
	}
	a.waiting = append(a.waiting, arrivedUse{span.TraceID(), use})
	if a.agents == nil {
		a.agents = map[pcommon.SpanID]*pendingUse{}
	}
	a.agents[span.SpanID()] = use
}

// spanTokens counts a usage span's input and output tokens, priced at the span's end,
// as its agent's: found up its trace, or named by the span where a framework's trace
// does not nest its calls under its agents (attribution.go).
func (g *genai) spanTokens(b *batch, a *arrivals, from spanFrom, item []string, span ptrace.Span, input, output pcommon.Value, per perAgent) {
	in, reason := g.tokenValue(input)
	out, outReason := g.tokenValue(output)
	if reason == "" {
		reason = outReason
	}
	if reason != "" {
		b.unused(from.o, g.cfg.Unused.Traces, reason, from.scope, 1)
		return
	}
	attrs := span.Attributes()
	g.resolve(item, attrs, from.res)
	use := pendingUse{
		o: from.o, item: item, scope: from.scope, in: in, out: out,
		provider: g.provider(attrs, from.res), // both parts are one call's
		end:      span.EndTimestamp(), parent: span.ParentSpanID(),
	}
	if per.named {
		if agent := g.usageAgent(attrs); agent != "" {
			use.item[g.persona] = agent
			g.countUse(b, &use)
			return
		}
	}
	if !per.tracking {
		g.countUse(b, &use)
		return
	}
	// Unclaimed, it counts as its resource's persona: a chat span's own agent name may be
	// an instrumentation's default ("OpenAI Agent"), never the agent's.
	item[g.persona] = g.label(g.persona, noAttributes, from.res)
	if span.ParentSpanID().IsEmpty() { // a root: no agent above it, nothing to wait for
		g.fallBack(b, &use, g.cfg.Attribution.Reasons.NoAgentSpan)
		return
	}
	use.item, use.since = append([]string(nil), item...), time.Now()
	a.waiting = append(a.waiting, arrivedUse{span.TraceID(), &use})
}

// tokenValue is a usage attribute as tokens; missing counts 0.
func (g *genai) tokenValue(v pcommon.Value) (float64, string) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return 0, ""
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	case pcommon.ValueTypeDouble:
		f = v.Double()
	default:
		return 0, g.cfg.Unused.Reasons.NotANumber
	}
	return f, g.badValue(f) // +Inf is above any ceiling: too large
}

// librarySpan observes one of the library's spans into its series; false if it has none.
func (g *genai) librarySpan(b *batch, o origin, scope, spanType string, span ptrace.Span) bool {
	outs := b.spanSeries(spanType)
	if len(outs) == 0 {
		return false
	}
	attrs := span.Attributes()
	for _, out := range outs {
		var buf [8]string
		values, complete := g.spanValues(buf[:0], attrs, out.attributes)
		if !complete {
			b.unused(o, g.cfg.Unused.Traces, g.cfg.Unused.Reasons.MissingLabel, scope, 1)
			continue
		}
		if out.histogram {
			b.observe(o, &out.output, values, spanSeconds(span))
		} else {
			b.add(o, &out.output, values, 1)
		}
	}
	return true
}

// spanValues appends the values of keys in attrs to values, cut; false if one is missing.
func (g *genai) spanValues(values []string, attrs pcommon.Map, keys []string) ([]string, bool) {
	for _, key := range keys {
		v, ok := attrs.Get(key)
		if !ok {
			return values, false
		}
		values = append(values, pdatautil.CutUTF8(pdatautil.AsString(v), g.cfg.MaxLabelBytes))
	}
	return values, true
}

// spanSeconds is a span's duration; 0 if it ends before it starts.
func spanSeconds(span ptrace.Span) float64 {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if end < start {
		return 0
	}
	return float64(end-start) / 1e9
}

func (g *genai) spanLabel(attrs pcommon.Map, key, fallback string) string {
	if v, ok := attrs.Get(key); ok {
		return pdatautil.CutUTF8(pdatautil.AsString(v), g.cfg.MaxLabelBytes)
	}
	return fallback
}

func firstSet(attrs pcommon.Map, keys []string) (pcommon.Value, bool) {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok {
			return v, true
		}
	}
	return pcommon.NewValueEmpty(), false
}
