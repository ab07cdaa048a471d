// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hypertool-observability/hypertool/collector/internal/unused"
)

// Config is the data table the connector runs on. `hypertool render` writes it from the
// names contract (collector-config/generated/); nothing in it is code.
type Config struct {
	// SkipPrefix marks the library's own metrics, which agent_sums sums: skipped here.
	SkipPrefix string `mapstructure:"skip_prefix"`
	// Resource is the one resource of every sum; Scope their instrumentation scope. Both
	// must equal agent_sums', so that the ledger adds everyone's usage into one stream.
	Resource map[string]string `mapstructure:"resource"`
	Scope    string            `mapstructure:"scope"`
	// Origin: where the producer's identity is read from, and written for the ledger
	// (its per-producer label quota), which removes it before it keys a stream.
	Origin Origin `mapstructure:"origin"`
	// MaxValue is the ceiling on what one point or span adds; above it, it is not summed.
	MaxValue float64 `mapstructure:"max_value"`
	// MaxLabelBytes cuts longer label values, at a UTF-8 character boundary.
	MaxLabelBytes int `mapstructure:"max_label_bytes"`
	// Unknown is the model label's value that names no model (the labels' value:unknown
	// source): usage of it, like usage with no model label, is never priced.
	Unknown string `mapstructure:"unknown"`
	// Labels: per label, where its value is read from, the first that is set wins:
	// "point:KEY" (the point's or span's attribute), "resource:KEY", or "value:TEXT".
	Labels map[string][]string `mapstructure:"labels"`
	// Usage are the foreign token metrics; Costs the metrics of cost producers report.
	Usage []UsageMetric `mapstructure:"usage"`
	Costs []CostMetric  `mapstructure:"costs"`
	// LogUsage: producers that report usage in log events only (one event per call).
	LogUsage []LogUsage `mapstructure:"log_usage"`
	// EventNameAttribute names a record's event where its EventName field is empty.
	EventNameAttribute string `mapstructure:"event_name_attribute"`
	// SpanUsage: producers that report usage on their spans only.
	SpanUsage SpanUsage `mapstructure:"span_usage"`
	// Handoff: a span recording a handoff between two agents is a persona switch.
	Handoff Handoff `mapstructure:"handoff"`
	// Attribution: span usage goes to the agent of its nearest enclosing agent span.
	Attribution Attribution `mapstructure:"attribution"`
	// SpanSeries: the library's spans, observed into durations and runs.
	SpanSeries SpanSeries `mapstructure:"span_series"`
	// Series are the sums this connector writes, each with the labels it takes.
	Series Series `mapstructure:"series"`
	// Prices: how usage that reports no cost is priced.
	Prices Prices `mapstructure:"prices"`
	// Cumulative: the state kept to turn cumulative usage into deltas.
	Cumulative Cumulative `mapstructure:"cumulative"`
	// Unused names what is received and not used, by signal and reason.
	Unused Unused `mapstructure:"unused"`
}

type Origin struct {
	ProducerFrom string `mapstructure:"producer_from"`
	InstanceFrom string `mapstructure:"instance_from"`
	Producer     string `mapstructure:"producer"`
	Instance     string `mapstructure:"instance"`
	// Delivery: the resource attribute a call that waited for its agent span goes to the
	// ledger with, its own delivery id ("<run>:<sequence>"), applied once.
	Delivery string `mapstructure:"delivery"`
}

// UsageMetric is a foreign token metric: how its points become the contract's labels.
type UsageMetric struct {
	Name string `mapstructure:"name"`
	// Shape: "sum" (the point's value is the tokens) or "histogram" (the point's sum is).
	Shape string `mapstructure:"shape"`
	// TypeAttribute names the token type; its values per contract token type.
	TypeAttribute string   `mapstructure:"type_attribute"`
	InputTypes    []string `mapstructure:"input_types"`
	OutputTypes   []string `mapstructure:"output_types"`
	// ReportsCost: the producer reports what the usage cost (a Costs metric), so it is
	// not estimated here.
	ReportsCost bool `mapstructure:"reports_cost"`
}

// LogUsage is one producer's usage event: input and output are each the sum of the
// attributes listed (the producer may report parts apart, as cache or reasoning tokens).
type LogUsage struct {
	// Event: the record's event name (its EventName, or its EventNameAttribute).
	Event string `mapstructure:"event"`
	// Where: attribute values the record must also have.
	Where  map[string]string `mapstructure:"where"`
	Input  []string          `mapstructure:"input"`
	Output []string          `mapstructure:"output"`
	// Cost: the attribute with what the call cost in US dollars, when the producer
	// reports it; then the tokens are not priced here.
	Cost string `mapstructure:"cost"`
	// Producers: the instrumentation scope name prefixes of the producer, whose usage
	// metrics repeat these events and are not counted (counted_from_logs).
	Producers []string `mapstructure:"producers"`
}

// CostMetric is a metric of US dollars a producer reports: summed as it is.
type CostMetric struct {
	Name string `mapstructure:"name"`
}

type SpanUsage struct {
	// Producers: instrumentation scope name prefixes whose usage counts from their spans;
	// their usage metrics repeat it and are not counted (counted_from_spans).
	Producers []string `mapstructure:"producers"`
	// Span attributes holding the input and output tokens, the first that is set wins.
	Input  []string `mapstructure:"input"`
	Output []string `mapstructure:"output"`
}

type Handoff struct {
	OperationAttribute string `mapstructure:"operation_attribute"`
	Operation          string `mapstructure:"operation"`
	From               string `mapstructure:"from"`
	To                 string `mapstructure:"to"`
	// NoFrom is the from label of a handoff that names no agent it came from.
	NoFrom string `mapstructure:"no_from"`
}

// Attribution: which spans are an agent's, and the bounded wait for them (attribution.go).
// With no agent_spans, span usage counts under its own labels at once.
type Attribution struct {
	AgentSpans []AgentSpan `mapstructure:"agent_spans"`
	// Label is the label an agent's name fills (the persona).
	Label string `mapstructure:"label"`
	// IgnoreScopes: scope name prefixes whose agent spans are no agents' (a graph's
	// spans that name the graph and each node alike): their calls still count, no
	// switch or duration is made of them.
	IgnoreScopes []string `mapstructure:"ignore_scopes"`
	// UsageAgents: usage spans that name their agent themselves, for frameworks whose
	// traces do not nest a call under its agent's span; checked before the trace.
	UsageAgents []UsageAgent `mapstructure:"usage_agents"`
	// Explicit: sources (as in labels) that name the persona explicitly. A span or
	// resource with one set is one persona: no wait, its agent spans count as nothing.
	Explicit []string `mapstructure:"explicit"`
	// Wait: how long usage waits for its agent span after it arrives, and a trace's
	// links are kept after its last span.
	Wait time.Duration `mapstructure:"wait"`
	// MaxPending bounds the usage waiting, MaxTraces the traces whose links are kept;
	// beyond either, the oldest counts at once, as its own persona's.
	MaxPending int `mapstructure:"max_pending"`
	MaxTraces  int `mapstructure:"max_traces"`
	// Directory holds the journal of what waits, so that a crash loses none of it; empty:
	// in memory only. Fsync waits for the disk on each append.
	Directory string `mapstructure:"directory"`
	Fsync     bool   `mapstructure:"fsync"`
	// Duration: each agent span is one observation of time in its persona.
	Duration Sum `mapstructure:"duration"`
	// Fallback counts the usage spans no agent span named, by reason and producer.
	Fallback Fallback           `mapstructure:"fallback"`
	Reasons  AttributionReasons `mapstructure:"reasons"`
}

// AgentSpan is one shape of an agent's span: Attribute equals Value, and the agent's name
// is the first of Name that is set.
type AgentSpan struct {
	Attribute string   `mapstructure:"attribute"`
	Value     string   `mapstructure:"value"`
	Name      []string `mapstructure:"name"`
}

// UsageAgent: a usage span with When set names its agent in Name, the text before Cut
// (all of it when Cut is empty).
type UsageAgent struct {
	When string `mapstructure:"when"`
	Name string `mapstructure:"name"`
	Cut  string `mapstructure:"cut"`
}

type Fallback struct {
	Metric        `mapstructure:",squash"`
	ReasonLabel   string `mapstructure:"reason_label"`
	ProducerLabel string `mapstructure:"producer_label"`
}

type AttributionReasons struct {
	// The trace up to its root holds no agent span.
	NoAgentSpan string `mapstructure:"no_agent_span"`
	// A span between the usage and its root had not arrived when the wait ended.
	WaitExpired string `mapstructure:"wait_expired"`
	// More usage waited, or more traces were kept, than the bounds allow.
	OverCapacity string `mapstructure:"over_capacity"`
	// The collector stopped while it waited.
	Shutdown string `mapstructure:"shutdown"`
}

func (a Attribution) check(labels map[string][]string, delivery string) []error {
	if len(a.AgentSpans) == 0 {
		return nil
	}
	var errs []error
	if a.Directory != "" && delivery == "" {
		errs = append(errs, errors.New("attribution.directory needs origin.delivery: a call sent again after a crash must be added once"))
	}
	if _, ok := labels[a.Label]; !ok {
		errs = append(errs, fmt.Errorf("attribution.label %q must be one of labels", a.Label))
	}
	for i, u := range a.UsageAgents {
		if u.When == "" || u.Name == "" {
			errs = append(errs, fmt.Errorf("attribution.usage_agents[%d]: when and name must be set", i))
		}
	}
	for _, src := range a.Explicit {
		if kind, _, err := parseSource(src); err != nil || kind == fromValue {
			errs = append(errs, fmt.Errorf("attribution.explicit: %q is not point:KEY or resource:KEY", src))
		}
	}
	if a.Wait <= 0 || a.MaxPending <= 0 || a.MaxTraces <= 0 {
		errs = append(errs, errors.New("attribution: wait, max_pending and max_traces must be positive"))
	}
	for i, s := range a.AgentSpans {
		if s.Attribute == "" || s.Value == "" || len(s.Name) == 0 {
			errs = append(errs, fmt.Errorf("attribution.agent_spans[%d]: attribute, value and name must be set", i))
		}
	}
	r := a.Reasons
	if a.Duration.Name == "" || a.Fallback.Name == "" || a.Fallback.ReasonLabel == "" || a.Fallback.ProducerLabel == "" ||
		r.NoAgentSpan == "" || r.WaitExpired == "" || r.OverCapacity == "" || r.Shutdown == "" {
		errs = append(errs, errors.New("attribution: duration, fallback (name, reason_label, producer_label) and every reason must be set"))
	}
	return errs
}

type SpanSeries struct {
	// TypeAttribute tells the library's spans apart, and their kind.
	TypeAttribute string `mapstructure:"type_attribute"`
	// Buckets are the bounds, in seconds, of every duration histogram.
	Buckets []float64 `mapstructure:"buckets"`
	// Series: label values read from span attributes are cut to MaxLabelBytes.
	Series []SpanEntry `mapstructure:"series"`
}

// SpanEntry is one series made from spans of one type: a duration histogram in seconds,
// or a count of spans.
type SpanEntry struct {
	Metric   `mapstructure:",squash"`
	SpanType string `mapstructure:"span_type"`
	// Kind: "histogram" (the span's duration) or "counter" (one per span).
	Kind string `mapstructure:"kind"`
	// Labels: label -> the span attribute it is read from.
	Labels map[string]string `mapstructure:"labels"`
}

type Metric struct {
	Name        string `mapstructure:"name"`
	Description string `mapstructure:"description"`
	Unit        string `mapstructure:"unit"`
}

// Sum is a series of sums, with the labels (in order) it takes from an item's labels.
type Sum struct {
	Metric `mapstructure:",squash"`
	Labels []string `mapstructure:"labels"`
}

type Series struct {
	Tokens         Sum `mapstructure:"tokens"`
	WorkflowTokens Sum `mapstructure:"workflow_tokens"`
	TokensByType   Sum `mapstructure:"tokens_by_type"`
	Cost           Sum `mapstructure:"cost"`
	Unpriced       Sum `mapstructure:"unpriced"`
	Switches       Sum `mapstructure:"switches"`
	// UserTokens and UserCost: the same usage per user, for usage that names one; not
	// written when unnamed.
	UserTokens Sum `mapstructure:"user_tokens"`
	UserCost   Sum `mapstructure:"user_cost"`
	// LabelKeys: the names of the labels the connector sets itself.
	TokenType  string `mapstructure:"token_type_label"`
	CostSource string `mapstructure:"cost_source_label"`
	From       string `mapstructure:"from_label"`
	To         string `mapstructure:"to_label"`
	Model      string `mapstructure:"model_label"`
	// Token types and cost sources, as label values.
	Input     string `mapstructure:"input"`
	Output    string `mapstructure:"output"`
	Reported  string `mapstructure:"reported"`
	Estimated string `mapstructure:"estimated"`
}

type Prices struct {
	// File is genai-prices' data file (its data.json schema). Empty: nothing is priced,
	// and every token of usage that reports no cost counts as unpriced.
	File string `mapstructure:"file"`
	// ProviderFrom: point or span attributes naming the provider, the first set wins.
	ProviderFrom []string `mapstructure:"provider_from"`
}

type Cumulative struct {
	// MaxStaleness: a stream unseen this long is forgotten (a live process re-exports
	// every stream each interval).
	MaxStaleness time.Duration `mapstructure:"max_staleness"`
	// MaxStreams bounds the state; a point of a new stream beyond it is counted unused.
	MaxStreams int `mapstructure:"max_streams"`
}

// Unused is the counter every hypertool component writes (internal/unused), with the
// signal label's value of spans and log records too: Signal is that of metric points.
type Unused struct {
	unused.Config `mapstructure:",squash"`
	Traces        string  `mapstructure:"traces"`
	Logs          string  `mapstructure:"logs"`
	Reasons       Reasons `mapstructure:"reasons"`
}

type Reasons struct {
	NotANumber       string `mapstructure:"not_a_number"`
	Negative         string `mapstructure:"negative"`
	TooLarge         string `mapstructure:"too_large"`
	NotSummable      string `mapstructure:"not_summable"`
	NotUsage         string `mapstructure:"not_usage"`
	UnknownTokenType string `mapstructure:"unknown_token_type"`
	SpanUsageIgnored string `mapstructure:"span_usage_ignored"`
	// A usage metric of a producer counted from its spans (span_usage.producers), or
	// from its log events (log_usage producers).
	CountedFromSpans string `mapstructure:"counted_from_spans"`
	CountedFromLogs  string `mapstructure:"counted_from_logs"`
	TracesOnly       string `mapstructure:"traces_only"`
	NotKept          string `mapstructure:"not_kept"`
	// A cumulative point older than the last one seen of its stream.
	OutOfOrder string `mapstructure:"out_of_order"`
	// A cumulative point of a new stream while MaxStreams are kept.
	TooManyStreams string `mapstructure:"too_many_streams"`
	// A library span without one of its series' labels.
	MissingLabel string `mapstructure:"missing_label"`
}

func createDefaultConfig() *Config {
	return &Config{
		MaxValue:      100_000_000,
		MaxLabelBytes: 128,
		Unknown:       "unknown",
		Cumulative:    Cumulative{MaxStaleness: time.Hour, MaxStreams: 100_000},
		Attribution:   Attribution{Wait: 30 * time.Second, MaxPending: 100_000, MaxTraces: 20_000},
	}
}

// Validate reports every error of the table at once, at start.
func (c *Config) Validate() error {
	var errs []error
	need := func(what, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must be set", what))
		}
	}
	need("scope", c.Scope)
	if _, ok := c.Labels[c.Series.Model]; !ok && c.Prices.File != "" {
		errs = append(errs, fmt.Errorf("series.model_label %q must be one of labels: prices look the model up by it", c.Series.Model))
	}
	if err := c.Unused.Check(); err != nil {
		errs = append(errs, fmt.Errorf("unused: %w", err))
	}
	need("unused.traces", c.Unused.Traces)
	need("unused.logs", c.Unused.Logs)
	if missing := c.Unused.Reasons.missing(); len(missing) > 0 {
		errs = append(errs, fmt.Errorf("unused: needs every reason (%s unset)", strings.Join(missing, ", ")))
	}
	errs = append(errs, c.Attribution.check(c.Labels, c.Origin.Delivery)...)
	if c.MaxValue <= 0 || c.MaxLabelBytes <= 0 {
		errs = append(errs, errors.New("max_value and max_label_bytes must be positive"))
	}
	if c.Cumulative.MaxStaleness <= 0 || c.Cumulative.MaxStreams <= 0 {
		errs = append(errs, errors.New("cumulative.max_staleness and max_streams must be positive"))
	}
	for label, sources := range c.Labels {
		for _, s := range sources {
			if _, _, err := parseSource(s); err != nil {
				errs = append(errs, fmt.Errorf("labels.%s: %w", label, err))
			}
		}
	}
	for _, u := range c.Usage {
		if u.Shape != "sum" && u.Shape != "histogram" {
			errs = append(errs, fmt.Errorf("usage %q: shape must be sum or histogram, not %q", u.Name, u.Shape))
		}
		need("usage "+u.Name+": type_attribute", u.TypeAttribute)
	}
	for _, u := range c.LogUsage {
		if u.Event == "" || len(u.Input)+len(u.Output) == 0 {
			errs = append(errs, fmt.Errorf("log_usage %q: event and input or output must be set", u.Event))
		}
	}
	if len(c.LogUsage) > 0 {
		need("event_name_attribute", c.EventNameAttribute)
	}
	for _, s := range c.SpanSeries.Series {
		if s.Kind != "histogram" && s.Kind != "counter" {
			errs = append(errs, fmt.Errorf("span_series %q: kind must be histogram or counter, not %q", s.Name, s.Kind))
		}
	}
	return errors.Join(errs...)
}

// missing names the reasons left unset: each is a label value the connector writes.
func (r Reasons) missing() []string {
	var out []string
	for _, f := range []struct{ key, value string }{
		{"not_a_number", r.NotANumber},
		{"negative", r.Negative},
		{"too_large", r.TooLarge},
		{"not_summable", r.NotSummable},
		{"not_usage", r.NotUsage},
		{"unknown_token_type", r.UnknownTokenType},
		{"span_usage_ignored", r.SpanUsageIgnored},
		{"counted_from_spans", r.CountedFromSpans},
		{"counted_from_logs", r.CountedFromLogs},
		{"traces_only", r.TracesOnly},
		{"not_kept", r.NotKept},
		{"out_of_order", r.OutOfOrder},
		{"too_many_streams", r.TooManyStreams},
		{"missing_label", r.MissingLabel},
	} {
		if f.value == "" {
			out = append(out, f.key)
		}
	}
	return out
}

type sourceKind int

const (
	fromPoint sourceKind = iota
	fromResource
	fromValue
)

func parseSource(s string) (sourceKind, string, error) {
	kind, key, ok := strings.Cut(s, ":")
	switch {
	case !ok || key == "":
		return 0, "", fmt.Errorf("source %q is not point:KEY, resource:KEY or value:TEXT", s)
	case kind == "point":
		return fromPoint, key, nil
	case kind == "resource":
		return fromResource, key, nil
	case kind == "value":
		return fromValue, key, nil
	}
	return 0, "", fmt.Errorf("source %q is not point:KEY, resource:KEY or value:TEXT", s)
}
