// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hypertool-observability/hypertool/collector/genaiconnector/internal/metadata"
	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
	"github.com/hypertool-observability/hypertool/collector/internal/unused"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// genai is one connector instance; the collector shares it between the pipelines it
// connects (metrics, traces and logs in, the fleet sums out).
type genai struct {
	cfg    *Config
	logger *zap.Logger
	sums   consumer.Metrics
	book   pricer
	state  *cumulative

	// The label table: an item's label values are a slice indexed by it.
	labels     []labelRule
	index      map[string]int
	tokenType  int
	costSource int
	model      int
	from, to   int
	usage      map[string]*usage
	costs      map[string]bool
	spanUsage  []string
	// logProducers: scopes counted from their log events (log_usage).
	logProducers []string
	spanSeries   map[string][]*spanOutput

	tokens, workflowTokens, tokensByType, cost, unpriced, switches *output
	unused                                                         *output
	userTokens, userCost                                           *output // nil: not written

	// Attribution (attribution.go): only the traces instance waits for agent spans.
	persona         int
	explicitSources []source
	agentDuration   *output
	fallback        *output
	tracker         *tracker
}

type labelRule struct {
	kind []sourceKind
	key  []string
}

type usage struct {
	UsageMetric
	types map[string]string // the producer's token type -> the contract's
}

type spanOutput struct {
	output
	attributes []string
}

func newGenai(cfg *Config, logger *zap.Logger, sums consumer.Metrics) *genai {
	g := &genai{cfg: cfg, logger: logger, sums: sums, index: map[string]int{}, usage: map[string]*usage{}, costs: map[string]bool{}}
	names := make([]string, 0, len(cfg.Labels))
	for name := range cfg.Labels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var rule labelRule
		for _, s := range cfg.Labels[name] {
			kind, key, _ := parseSource(s) // Validate has checked them
			rule.kind, rule.key = append(rule.kind, kind), append(rule.key, key)
		}
		g.index[name] = len(g.labels)
		g.labels = append(g.labels, rule)
	}
	g.tokenType = g.slot(cfg.Series.TokenType)
	g.costSource = g.slot(cfg.Series.CostSource)
	g.from = g.slot(cfg.Series.From)
	g.to = g.slot(cfg.Series.To)
	g.model = g.slot(cfg.Series.Model)
	s := cfg.Series
	g.tokens, g.workflowTokens, g.tokensByType = g.output(s.Tokens), g.output(s.WorkflowTokens), g.output(s.TokensByType)
	g.cost, g.unpriced, g.switches = g.output(s.Cost), g.output(s.Unpriced), g.output(s.Switches)
	if s.UserTokens.Name != "" {
		g.userTokens, g.userCost = g.output(s.UserTokens), g.output(s.UserCost)
	}
	u := cfg.Unused
	g.unused = &output{
		Metric: Metric{Name: u.Name, Description: u.Description, Unit: u.Unit},
		keys:   []string{u.SignalLabel, u.ReasonLabel, u.ProducerLabel},
		labels: []int{0, 1, 2},
	}
	for _, u := range cfg.Usage {
		entry := &usage{UsageMetric: u, types: map[string]string{}}
		for _, t := range u.InputTypes {
			entry.types[t] = s.Input
		}
		for _, t := range u.OutputTypes {
			entry.types[t] = s.Output
		}
		g.usage[u.Name] = entry
	}
	for _, c := range cfg.Costs {
		g.costs[c.Name] = true
	}
	g.spanUsage = cfg.SpanUsage.Producers
	for _, u := range cfg.LogUsage {
		g.logProducers = append(g.logProducers, u.Producers...)
	}
	g.newAttribution()
	g.spanSeries = map[string][]*spanOutput{}
	for _, e := range cfg.SpanSeries.Series {
		out := &spanOutput{output: output{Metric: e.Metric, histogram: e.Kind == "histogram"}}
		labels := make([]string, 0, len(e.Labels))
		for label := range e.Labels {
			labels = append(labels, label)
		}
		sort.Strings(labels)
		for i, label := range labels {
			out.keys = append(out.keys, label)
			out.labels = append(out.labels, i)
			out.attributes = append(out.attributes, e.Labels[label])
		}
		g.spanSeries[e.SpanType] = append(g.spanSeries[e.SpanType], out)
	}
	return g
}

// slot is the index of a label the connector sets itself, added to the table if new.
func (g *genai) slot(name string) int {
	if i, ok := g.index[name]; ok {
		return i
	}
	g.index[name] = len(g.labels)
	g.labels = append(g.labels, labelRule{})
	return g.index[name]
}

func (g *genai) output(s Sum) *output {
	out := &output{Metric: s.Metric, keys: s.Labels}
	for _, label := range s.Labels {
		out.labels = append(out.labels, g.slot(label))
	}
	return out
}

func (g *genai) Start(context.Context, component.Host) error {
	g.state = newCumulative(g.cfg.Cumulative, g.cfg.Unused.Reasons, time.Now())
	if g.tracker != nil {
		if err := g.openTracker(); err != nil {
			return fmt.Errorf("%s: %w", metadata.Type, err)
		}
		g.startTracker()
	}
	if g.cfg.Prices.File == "" {
		g.logger.Warn("no price file: usage that reports no cost counts as unpriced")
		return nil
	}
	book, err := loadPrices(g.cfg.Prices.File)
	if err != nil {
		return fmt.Errorf("%s: prices: %w", metadata.Type, err)
	}
	g.book = book
	return nil
}

// Shutdown counts the usage still waiting for its agent span.
func (g *genai) Shutdown(context.Context) error {
	g.stopTracker()
	return nil
}

// Capabilities: the connector reads what it receives and writes new sums.
func (g *genai) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// flush hands the batch's sums to the ledger: the sender's export is acknowledged only
// once they are journaled, and retried as a whole if not.
func (g *genai) flush(ctx context.Context, b *batch) error {
	if len(b.order) == 0 {
		return nil
	}
	md := b.metrics()
	if md.ResourceMetrics().Len() == 0 {
		return nil
	}
	return g.sums.ConsumeMetrics(ctx, md)
}

// origin reads who sent a resource's items.
func (g *genai) origin(attrs pcommon.Map) origin {
	var o origin
	if v, ok := attrs.Get(g.cfg.Origin.ProducerFrom); ok && g.cfg.Origin.ProducerFrom != "" {
		o.producer = v.AsString()
	}
	if v, ok := attrs.Get(g.cfg.Origin.InstanceFrom); ok && g.cfg.Origin.InstanceFrom != "" {
		o.instance = v.AsString()
	}
	return o
}

// producer is the unused series' producer label: the instrumentation scope's name.
func (g *genai) producer(scope string) string {
	if scope == "" {
		return g.cfg.Unused.UnknownProducer
	}
	return pdatautil.CutUTF8(scope, g.cfg.MaxLabelBytes)
}

// resolve fills item with the label values of a point or span: each label from its
// first source that is set, cut as the agent cuts it; "" where none is.
func (g *genai) resolve(item []string, point, resource pcommon.Map) {
	for i := range g.labels {
		item[i] = g.label(i, point, resource)
	}
}

// noAttributes: a label read from its resource (and constant) sources only.
var noAttributes = pcommon.NewMap()

// label is label i's value: its first source that is set, cut; "" where none is.
func (g *genai) label(i int, point, resource pcommon.Map) string {
	rule := g.labels[i]
	for j, kind := range rule.kind {
		attrs := point
		switch kind {
		case fromValue:
			return rule.key[j]
		case fromResource:
			attrs = resource
		}
		if v, ok := attrs.Get(rule.key[j]); ok {
			return pdatautil.CutUTF8(pdatautil.AsString(v), g.cfg.MaxLabelBytes)
		}
	}
	return ""
}

// badValue is the reason a value cannot be summed, or "": no real producer sends these.
func (g *genai) badValue(v float64) string {
	r := g.cfg.Unused.Reasons
	return unused.BadValue(v, g.cfg.MaxValue, r.NotANumber, r.Negative, r.TooLarge)
}

// emit adds one item's tokens of one type to the token series, and its cost: estimated
// from the price book unless the producer reports it.
func (g *genai) emit(b *batch, o origin, item []string, tokens float64, tokenType string, price float64, priced, reportsCost bool) {
	b.add(o, g.tokens, item, tokens)
	if g.needsAll(g.workflowTokens, item) {
		b.add(o, g.workflowTokens, item, tokens)
	}
	named := g.userTokens != nil && g.needsAll(g.userTokens, item)
	if named {
		b.add(o, g.userTokens, item, tokens)
	}
	item[g.tokenType] = tokenType
	b.add(o, g.tokensByType, item, tokens)
	if reportsCost {
		return
	}
	if priced {
		item[g.costSource] = g.cfg.Series.Estimated
		g.addCost(b, o, item, tokens*price/1e6)
		return
	}
	b.add(o, g.unpriced, item, tokens)
}

// addCost adds a cost (its item's cost_source set), per user too when the item names one.
func (g *genai) addCost(b *batch, o origin, item []string, usd float64) {
	b.add(o, g.cost, item, usd)
	if g.userCost != nil && g.needsAll(g.userCost, item) {
		b.add(o, g.userCost, item, usd)
	}
}

// needsAll: a series is written only for items that have every one of its labels (the
// workflow series, for usage inside a workflow run).
func (g *genai) needsAll(out *output, item []string) bool {
	for _, i := range out.labels {
		if item[i] == "" {
			return false
		}
	}
	return true
}

func (g *genai) newItem() []string { return make([]string, len(g.labels)) }

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
