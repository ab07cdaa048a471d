// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/hypertool-observability/hypertool/collector/internal/pdatautil"
)

// The resource attributes that tell producers apart (OpenTelemetry semantic conventions).
const (
	serviceName       = "service.name"
	serviceInstanceID = "service.instance.id"
)

// gate is the part every signal shares: the admitter of its component, started once.
type gate struct {
	shared *sharedAdmitter
	signal string
}

func (g *gate) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (g *gate) Start(context.Context, component.Host) error {
	g.shared.start()
	return nil
}

func (g *gate) Shutdown(context.Context) error {
	g.shared.shutdown()
	return nil
}

// pass charges a request's producers and reports whether it may go on; a refused
// request's items are counted before the refusal is returned.
func (g *gate) pass(ctx context.Context, charges []charge) error {
	over, refuse := g.shared.admitter.admit(charges)
	if !refuse {
		return nil
	}
	g.shared.admitter.count(ctx, g.signal, charges, over)
	return errOverFairShare
}

func (g *gate) charge(res pcommon.Resource, items int) charge {
	attrs := res.Attributes()
	name, id := pdatautil.GetString(attrs, serviceName), pdatautil.GetString(attrs, serviceInstanceID)
	label := name
	if label == "" {
		label = g.shared.admitter.cfg.Names.Anonymous
	}
	// The length prefix keeps ("ab", "c") and ("a", "bc") apart; a resource with neither
	// attribute is the one anonymous producer, key "0:".
	return charge{key: strconv.Itoa(len(name)) + ":" + name + id, label: label, instance: id, items: items}
}

type metricsGate struct {
	gate
	next consumer.Metrics
}

func (m *metricsGate) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	charges := make([]charge, 0, rms.Len())
	for _, rm := range rms.All() {
		charges = append(charges, m.charge(rm.Resource(), metricItems(rm)))
	}
	if err := m.pass(ctx, charges); err != nil {
		return err
	}
	return m.next.ConsumeMetrics(ctx, md)
}

func metricItems(rm pmetric.ResourceMetrics) int {
	n := 0
	for _, sm := range rm.ScopeMetrics().All() {
		for _, m := range sm.Metrics().All() {
			n += points(m)
		}
	}
	return n
}

func points(m pmetric.Metric) int {
	if m.Type() == pmetric.MetricTypeEmpty {
		// A metric without data still costs the collector its decoding.
		return 1
	}
	return pdatautil.PointCount(m)
}

type tracesGate struct {
	gate
	next consumer.Traces
}

func (t *tracesGate) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	rss := td.ResourceSpans()
	charges := make([]charge, 0, rss.Len())
	for _, rs := range rss.All() {
		n := 0
		for _, ss := range rs.ScopeSpans().All() {
			n += ss.Spans().Len()
		}
		charges = append(charges, t.charge(rs.Resource(), n))
	}
	if err := t.pass(ctx, charges); err != nil {
		return err
	}
	return t.next.ConsumeTraces(ctx, td)
}

type logsGate struct {
	gate
	next consumer.Logs
}

func (l *logsGate) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	rls := ld.ResourceLogs()
	charges := make([]charge, 0, rls.Len())
	for _, rl := range rls.All() {
		n := 0
		for _, sl := range rl.ScopeLogs().All() {
			n += sl.LogRecords().Len()
		}
		charges = append(charges, l.charge(rl.Resource(), n))
	}
	if err := l.pass(ctx, charges); err != nil {
		return err
	}
	return l.next.ConsumeLogs(ctx, ld)
}
