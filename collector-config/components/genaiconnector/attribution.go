// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// Attribution: usage counted from spans goes to the agent of the nearest enclosing agent
// span. An SDK exports a span when it ends, so a call's span reaches the collector
// before the span of the agent that made it, often in a later export: the usage waits
// for it, bounded in time and in number, here rather than in groupbytrace, which holds
// every span of a trace and drops what it holds when it evicts a trace or stops.
//
// What waits is only the usage (a few numbers and labels a call), never acknowledged
// as counted until it is: each item is added to the series exactly once, when its agent
// is found, when its trace is known to have no agent span, after the wait, when the
// table is full, or at shutdown. The last four count under the item's own persona (the
// resource's, then service.name) and in the fallback counter, with the reason.

// pendingUse is one usage span (or, with to set, one agent span looking for the agent
// that called it) waiting for its nearest enclosing agent span.
type pendingUse struct {
	id       uint64 // its journal id; 0 until it waits past its own export
	o        origin
	item     []string // the span's labels; the persona is the fallback's
	scope    string
	in, out  float64
	provider string
	end      pcommon.Timestamp
	parent   pcommon.SpanID
	since    time.Time
	agent    string // an agent span's own name: this waits to count a switch to it
}

type source struct {
	kind sourceKind
	key  string
}

type spanLink struct {
	parent     pcommon.SpanID
	agent      string // set on agent spans
	start, end pcommon.Timestamp
}

type traceLinks struct {
	id      pcommon.TraceID
	spans   map[pcommon.SpanID]spanLink
	waiting []*pendingUse
	seen    time.Time
	// handoffs: the trace records its handoffs as spans of their own, so one agent
	// following another beside it is no switch of its own.
	handoffs bool
}

// tracker holds the links of recent traces and the usage waiting in them; shared by the
// concurrent exports of one connector.
type tracker struct {
	mu      sync.Mutex
	traces  map[pcommon.TraceID]*traceLinks
	fifo    []pcommon.TraceID // arrival order, to forget and to evict the oldest
	pending int
	stop    chan struct{}
	done    chan struct{}
	journal *journal // nil: what waits is in memory only
	// open: the journaled calls settled and not yet in the ledger, by id.
	open map[uint64]settledCall
}

// found, rooted and missing: what the walk up a trace's links ends on.
type walkEnd int

const (
	found walkEnd = iota
	rooted
	missing
)

// maxHops bounds a walk up the links: a malformed trace may hold a cycle.
const maxHops = 64

func newTracker() *tracker {
	return &tracker{traces: map[pcommon.TraceID]*traceLinks{}, open: map[uint64]settledCall{}}
}

// nearestAgent walks up from parent to the first agent span.
func (tl *traceLinks) nearestAgent(parent pcommon.SpanID) (string, walkEnd) {
	for range maxHops {
		if parent.IsEmpty() {
			return "", rooted
		}
		l, ok := tl.spans[parent]
		if !ok {
			return "", missing
		}
		if l.agent != "" {
			return l.agent, found
		}
		parent = l.parent
	}
	return "", rooted
}

// explicit: the span or its resource names its persona explicitly (attribution.explicit).
func (g *genai) explicit(attrs, res pcommon.Map) bool {
	for _, src := range g.explicitSources {
		m := attrs
		if src.kind == fromResource {
			m = res
		}
		if _, ok := m.Get(src.key); ok {
			return true
		}
	}
	return false
}

// agentName is the agent a span is the span of, or "" when it is none.
func (g *genai) agentName(attrs pcommon.Map) string {
	for _, shape := range g.cfg.Attribution.AgentSpans {
		if pdatautil.GetString(attrs, shape.Attribute) != shape.Value {
			continue
		}
		for _, key := range shape.Name {
			if v, ok := attrs.Get(key); ok && v.Str() != "" {
				return pdatautil.CutUTF8(pdatautil.AsString(v), g.cfg.MaxLabelBytes)
			}
		}
	}
	return ""
}

// usageAgent is the agent a usage span names itself (attribution.usage_agents), or "".
func (g *genai) usageAgent(attrs pcommon.Map) string {
	for _, rule := range g.cfg.Attribution.UsageAgents {
		if _, ok := attrs.Get(rule.When); !ok {
			continue
		}
		name := pdatautil.GetString(attrs, rule.Name)
		if rule.Cut != "" {
			name, _, _ = strings.Cut(name, rule.Cut)
		}
		if name != "" {
			return pdatautil.CutUTF8(name, g.cfg.MaxLabelBytes)
		}
	}
	return ""
}

// arrivals are what one export brings the tracker: links, then the items that wait.
type arrivals struct {
	links    []arrivedLink
	waiting  []arrivedUse
	handoffs []pcommon.TraceID
	// agents: the switch item of each agent span that arrived, for its sibling.
	agents map[pcommon.SpanID]*pendingUse
}

type arrivedLink struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	link  spanLink
}

type arrivedUse struct {
	trace pcommon.TraceID
	use   *pendingUse
}

// link records a span of a foreign producer, so that usage below it can find its agent.
func (a *arrivals) link(span ptrace.Span, agent string) {
	link := spanLink{span.ParentSpanID(), agent, span.StartTimestamp(), span.EndTimestamp()}
	a.links = append(a.links, arrivedLink{span.TraceID(), span.SpanID(), link})
}

// settle adds an export's links, then settles every item that waits in a trace the export
// touched: the new items, and the older ones its spans may be the agents of.
func (g *genai) settle(b *batch, a *arrivals) {
	if len(a.links) == 0 && len(a.waiting) == 0 {
		return
	}
	t, now := g.tracker, time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	touched := map[pcommon.TraceID]*traceLinks{}
	for _, id := range a.handoffs {
		t.trace(id, now).handoffs = true
	}
	for _, l := range a.links {
		tl := t.trace(l.trace, now)
		tl.spans[l.span] = l.link
		touched[l.trace] = tl
		if l.link.agent != "" {
			g.siblingSwitch(b, tl, l, a.agents[l.span])
		}
	}
	for _, w := range a.waiting {
		tl := t.trace(w.trace, now)
		if t.pending >= g.cfg.Attribution.MaxPending {
			g.settled(b, tl, w.use, "", g.cfg.Attribution.Reasons.OverCapacity)
			continue
		}
		tl.waiting = append(tl.waiting, w.use)
		t.pending++
		touched[w.trace] = tl
	}
	for _, tl := range touched {
		g.settleTrace(b, tl, false, "")
	}
	g.evict(b)
	g.journalWaiting(b, touched)
}

// siblingSwitch counts a switch to an agent from the agent that ran just before it beside
// it (under the same parent: Google ADK's transfers), unless the trace records its
// handoffs itself; agents that ran at once (a parallel fan-out) are no switch.
func (g *genai) siblingSwitch(b *batch, tl *traceLinks, l arrivedLink, use *pendingUse) {
	if tl.handoffs || use == nil {
		return
	}
	var prev spanLink
	found := false
	for id, other := range tl.spans {
		if id == l.span || other.agent == "" || other.parent != l.link.parent {
			continue
		}
		if other.start < l.link.start && (!found || other.start > prev.start) {
			prev, found = other, true
		}
	}
	if !found || prev.agent == l.link.agent || prev.end > l.link.start {
		return
	}
	item := append([]string(nil), use.item...)
	item[g.from], item[g.to] = prev.agent, l.link.agent
	b.add(use.o, g.switches, item, 1)
}

// journalWaiting journals the calls that wait past their own export, and the settling of
// the ones that waited, before the export is acknowledged.
func (g *genai) journalWaiting(b *batch, touched map[pcommon.TraceID]*traceLinks) {
	j := g.tracker.journal
	if j == nil {
		return
	}
	var recs []journalRecord
	for id, tl := range touched {
		for _, p := range tl.waiting {
			if p.id == 0 {
				p.id = j.next
				j.next++
				recs = append(recs, g.record(id, p))
			}
		}
	}
	g.journalWrite(append(recs, b.settles...))
}

func (g *genai) journalWrite(recs []journalRecord) {
	if err := g.tracker.journal.write(recs...); err != nil {
		g.logger.Error("attribution: cannot journal the calls waiting for their agent span; a crash would lose them", zap.Error(err))
	}
}

// journalDone journals that the calls a batch settled are in the ledger.
func (g *genai) journalDone(b *batch) {
	t := g.tracker
	if t == nil || t.journal == nil || len(b.done) == 0 {
		return
	}
	recs := make([]journalRecord, len(b.done))
	for i, id := range b.done {
		recs[i] = journalRecord{Kind: "done", ID: id}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g.journalWrite(recs)
	for _, id := range b.done {
		delete(t.open, id)
	}
}

// settled counts a call that has found its end (count). A journaled call goes to the
// ledger as a delivery of its own, journaled first: sent again after a crash, it is
// added once.
func (g *genai) settled(b *batch, tl *traceLinks, p *pendingUse, agent, reason string) {
	if j := g.tracker.journal; j != nil && p.id != 0 {
		p.o.delivery = j.delivery()
		settle := journalRecord{Kind: "settle", ID: p.id, Delivery: p.o.delivery, Persona: agent, Reason: reason}
		b.settles = append(b.settles, settle)
		b.done = append(b.done, p.id)
		// Until the ledger has it, a compaction keeps it.
		g.tracker.open[p.id] = settledCall{g.record(tl.id, p), settle}
	}
	g.count(b, p, agent, reason)
}

// count counts a call as its agent's (agent set) or as its own persona (reason set).
func (g *genai) count(b *batch, p *pendingUse, agent, reason string) {
	if agent != "" {
		g.attributed(b, p, agent)
		return
	}
	g.fallBack(b, p, reason)
}

// trace is the links of a trace, new if unseen.
func (t *tracker) trace(id pcommon.TraceID, now time.Time) *traceLinks {
	tl, ok := t.traces[id]
	if !ok {
		tl = &traceLinks{id: id, spans: map[pcommon.SpanID]spanLink{}}
		t.traces[id] = tl
		t.fifo = append(t.fifo, id)
	}
	tl.seen = now
	return tl
}

// settleTrace counts each waiting item whose walk ends: at an agent (its agent), at the
// root (no agent: the fallback); with force, every item, a missing link as reason.
func (g *genai) settleTrace(b *batch, tl *traceLinks, force bool, reason string) {
	kept := tl.waiting[:0]
	for _, p := range tl.waiting {
		agent, end := tl.nearestAgent(p.parent)
		switch {
		case end == found:
			g.settled(b, tl, p, agent, "")
		case end == rooted:
			g.settled(b, tl, p, "", g.cfg.Attribution.Reasons.NoAgentSpan)
		case force:
			g.settled(b, tl, p, "", reason)
		default:
			kept = append(kept, p)
			continue
		}
		g.tracker.pending--
	}
	clear(tl.waiting[len(kept):])
	tl.waiting = kept
}

// evict forgets the oldest traces beyond max_traces, counting what waits in them.
func (g *genai) evict(b *batch) {
	t := g.tracker
	for len(t.traces) > g.cfg.Attribution.MaxTraces && len(t.fifo) > 0 {
		g.forget(b, t.fifo[0], g.cfg.Attribution.Reasons.OverCapacity)
		t.fifo = t.fifo[1:]
	}
}

func (g *genai) forget(b *batch, id pcommon.TraceID, reason string) {
	t := g.tracker
	if tl, ok := t.traces[id]; ok {
		g.settleTrace(b, tl, true, reason)
		delete(t.traces, id)
	}
}

// expire counts what waited longer than the wait, and forgets traces quiet for as long.
func (g *genai) expire(b *batch, now time.Time, reason string, all bool) {
	t := g.tracker
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := g.cfg.Attribution.Wait
	keep := t.fifo[:0]
	for _, id := range t.fifo {
		tl, ok := t.traces[id]
		if !ok {
			continue
		}
		if all || now.Sub(tl.seen) >= wait {
			g.forget(b, id, reason)
			continue
		}
		g.expireItems(b, tl, now)
		keep = append(keep, id)
	}
	clear(t.fifo[len(keep):])
	t.fifo = keep
	if t.journal != nil {
		g.journalWrite(b.settles)
		g.compact()
	}
}

// compact rewrites a journal grown past journalCompactBytes with only what is open: the
// calls still waiting, and those settled and not yet in the ledger.
func (g *genai) compact() {
	t := g.tracker
	if t.journal.size < journalCompactBytes {
		return
	}
	var recs []journalRecord
	for id, tl := range t.traces {
		for _, p := range tl.waiting {
			if p.id != 0 {
				recs = append(recs, g.record(id, p))
			}
		}
	}
	open := make([]settledCall, 0, len(t.open))
	for _, call := range t.open {
		open = append(open, call)
	}
	if err := t.journal.rewrite(openRecords(recs, open)); err != nil {
		g.logger.Error("attribution: cannot compact the journal of waiting calls", zap.Error(err))
	}
}

// expireItems counts a live trace's items that waited out the wait on their own.
func (g *genai) expireItems(b *batch, tl *traceLinks, now time.Time) {
	kept := tl.waiting[:0]
	for _, p := range tl.waiting {
		if now.Sub(p.since) < g.cfg.Attribution.Wait {
			kept = append(kept, p)
			continue
		}
		g.settled(b, tl, p, "", g.cfg.Attribution.Reasons.WaitExpired)
		g.tracker.pending--
	}
	clear(tl.waiting[len(kept):])
	tl.waiting = kept
}

// attributed counts an item as its agent's: usage under the agent's persona, or the
// switch from the calling agent to the agent the item is.
func (g *genai) attributed(b *batch, p *pendingUse, agent string) {
	if p.agent != "" {
		if agent != p.agent {
			p.item[g.from], p.item[g.to] = agent, p.agent
			b.add(p.o, g.switches, p.item, 1)
		}
		return
	}
	p.item[g.persona] = agent
	g.countUse(b, p)
}

// fallBack counts an item under its own labels: usage as its resource's persona, and
// the fallback with its reason. An agent span with no calling agent is no switch.
func (g *genai) fallBack(b *batch, p *pendingUse, reason string) {
	if p.agent != "" {
		return
	}
	g.countUse(b, p)
	b.add(p.o, g.fallback, []string{reason, g.producer(p.scope)}, 1)
}

func (g *genai) countUse(b *batch, p *pendingUse) {
	s := g.cfg.Series
	for _, part := range [2]struct {
		tokens float64
		kind   string
	}{{p.in, s.Input}, {p.out, s.Output}} {
		price, priced := g.priceFrom(p.provider, p.item, part.kind, p.end)
		g.emit(b, p.o, p.item, part.tokens, part.kind, price, priced, false)
	}
}

// startTracker settles, every tick, what waited out the wait: those sums have no export
// to go with, so they go to the ledger on their own.
func (g *genai) startTracker() {
	t := g.tracker
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	tick := min(max(g.cfg.Attribution.Wait/4, 50*time.Millisecond), time.Second)
	go func() {
		defer close(t.done)
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for {
			select {
			case <-t.stop:
				return
			case now := <-ticker.C:
				g.expireAndFlush(now, g.cfg.Attribution.Reasons.WaitExpired, false)
			}
		}
	}()
}

func (g *genai) expireAndFlush(now time.Time, reason string, all bool) {
	b := g.newBatch()
	g.expire(b, now, reason, all)
	g.flushSettled(b)
}

// flushSettled hands on what settled with no export of its own; journaled calls the
// ledger refused stay in the journal, sent again at the next start.
func (g *genai) flushSettled(b *batch) {
	if err := g.flush(context.Background(), b); err != nil {
		g.logger.Error("attribution: the ledger refused usage settled after its wait", zap.Error(err))
		return
	}
	g.journalDone(b)
}

// stopTracker stops the ticker. With a journal, what waits stays in it and waits again
// after the restart (its agent span may come then); without one, it is counted now
// (reason shutdown), while the ledger after this connector still runs.
func (g *genai) stopTracker() {
	t := g.tracker
	if t == nil {
		return
	}
	if t.stop != nil { // started, and not stopped yet
		close(t.stop)
		<-t.done
		t.stop = nil
	}
	if t.journal != nil {
		if err := t.journal.close(); err != nil {
			g.logger.Warn("attribution: closing the journal", zap.Error(err))
		}
		t.journal = nil
		return
	}
	g.expireAndFlush(time.Now(), g.cfg.Attribution.Reasons.Shutdown, true)
}

// openTracker replays the journal of a previous run: what waited waits again, what had
// settled is sent again (the ledger adds each delivery once).
func (g *genai) openTracker() error {
	a := g.cfg.Attribution
	if a.Directory == "" {
		return nil
	}
	j, waiting, settled, err := openJournal(a.Directory, a.Fsync)
	if err != nil {
		return fmt.Errorf("attribution journal: %w", err)
	}
	t := g.tracker
	t.journal = j
	now := time.Now()
	for _, rec := range waiting {
		id, p := g.restore(rec)
		tl := t.trace(id, now)
		tl.waiting = append(tl.waiting, p)
		t.pending++
	}
	b := g.newBatch()
	for _, call := range settled {
		_, p := g.restore(call[0])
		settle := call[1]
		p.o.delivery = settle.Delivery
		// Until the ledger has it, a compaction keeps it.
		t.open[p.id] = call
		g.count(b, p, settle.Persona, settle.Reason)
		b.done = append(b.done, p.id)
	}
	g.flushSettled(b)
	return nil
}

// newAttribution sets up the outputs; the tracker itself is the traces instance's
// (tracksAgents), made by its factory.
func (g *genai) newAttribution() {
	a := g.cfg.Attribution
	if len(a.AgentSpans) == 0 {
		return
	}
	g.persona = g.slot(a.Label)
	for _, src := range a.Explicit {
		kind, key, _ := parseSource(src) // Validate has checked them
		g.explicitSources = append(g.explicitSources, source{kind, key})
	}
	g.agentDuration = g.output(a.Duration)
	g.agentDuration.histogram = true
	g.fallback = &output{
		Metric: a.Fallback.Metric,
		keys:   []string{a.Fallback.ReasonLabel, a.Fallback.ProducerLabel},
		labels: []int{0, 1},
	}
}

// tracksAgents makes this instance the one that waits for agent spans.
func (g *genai) tracksAgents() {
	if len(g.cfg.Attribution.AgentSpans) > 0 {
		g.tracker = newTracker()
	}
}
