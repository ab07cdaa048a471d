// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

// renderedConfig is the block hypertool renders (testdata/config.yaml, admission).
func renderedConfig(tb testing.TB) *Config {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := cm.Sub("admission")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := createDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// started makes a processor with create, as the collector would, and starts it with its
// heap reading well below the pressure threshold.
func started[P component.Component](b *testing.B, name string, create func(processor.Factory, processor.Settings, *Config) (P, error)) P {
	set := processortest.NewNopSettings(NewFactory().Type())
	set.ID = component.NewIDWithName(set.ID.Type(), name)
	p, err := create(NewFactory(), set, renderedConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	shared := any(p).(interface{ sharedOf() *sharedAdmitter }).sharedOf()
	shared.admitter.memory = func() memory { return memory{heap: 10 << 20} }
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return p
}

func (g *gate) sharedOf() *sharedAdmitter { return g.shared }

// agentResource is an agent process's resource: a producer of its own.
func agentResource(res pcommon.Resource) {
	res.Attributes().PutStr(serviceName, "support-agent")
	res.Attributes().PutStr(serviceInstanceID, "4f1c7a52-1d7e-4c1b-9a57-0e8c1f1b2f60")
	res.Attributes().PutStr("telemetry.sdk.language", "python")
}

// BenchmarkConsumeMetrics: one agent export (13 delta points of the library's counters)
// through the processor, not under pressure.
func BenchmarkConsumeMetrics(b *testing.B) {
	p := started(b, "metrics", func(f processor.Factory, set processor.Settings, cfg *Config) (processor.Metrics, error) {
		return f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	})
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	agentResource(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("hypertool_agent")
	for _, points := range []int{2, 6, 2, 1, 1, 1} {
		sum := sm.Metrics().AppendEmpty().SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		for i := range points {
			dp := sum.DataPoints().AppendEmpty()
			dp.SetIntValue(int64(i))
			dp.Attributes().PutStr("persona", "backend-engineer")
		}
	}
	md.MarkReadOnly() // the processor does not change what it is handed
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.ConsumeMetrics(ctx, md); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsumeTraces: one agent's batch of 20 spans through the processor, not under
// pressure.
func BenchmarkConsumeTraces(b *testing.B) {
	p := started(b, "traces", func(f processor.Factory, set processor.Settings, cfg *Config) (processor.Traces, error) {
		return f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	})
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	agentResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai")
	for range 20 {
		span := ss.Spans().AppendEmpty()
		span.SetName("chat claude-sonnet-4")
		span.Attributes().PutStr("gen_ai.request.model", "claude-sonnet-4")
		span.Attributes().PutInt("gen_ai.usage.input_tokens", 1200)
	}
	td.MarkReadOnly()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
}
