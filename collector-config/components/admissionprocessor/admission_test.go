// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
)

const mib = 1 << 20

// fixture is an admitter with a heap and a clock the test sets, and a reader of its counter.
type fixture struct {
	a      *admitter
	heap   atomic.Uint64
	clock  time.Time
	reader *sdkmetric.ManualReader
}

// testConfig is the default with the names the hypertool config renders.
func testConfig() *Config {
	cfg := createDefaultConfig()
	cfg.Names = Names{
		RefusedMetric: refusedMetric, Unit: refusedUnit,
		SignalLabel: "signal", ReasonLabel: "reason", ProducerLabel: "producer",
		OverFairShare: "over_fair_share", SharedRequest: "shared_request", Anonymous: "anonymous",
		Other: "other", MaxLabelValues: 100,
	}
	return cfg
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	cfg := testConfig()
	cfg.MemoryLimitMiB = 100 // pressure at 50 MiB, release at 40 MiB
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	f := &fixture{clock: time.Unix(1000, 0), reader: sdkmetric.NewManualReader()}
	counter, err := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader)).
		Meter("test").Int64Counter(cfg.Names.RefusedMetric)
	if err != nil {
		t.Fatal(err)
	}
	f.a = newAdmitter(cfg, zap.NewNop(), func() memory { return memory{heap: f.heap.Load()} }, counter)
	f.a.now = func() time.Time { return f.clock }
	f.a.gc = nil // the test process's own runtime is not the subject
	return f
}

// step moves the clock, sets the heap and runs the background refresh once.
func (f *fixture) step(d time.Duration, heapMiB uint64) {
	f.clock = f.clock.Add(d)
	f.heap.Store(heapMiB * mib)
	f.a.refresh()
}

func (f *fixture) send(key string, items int) ([]bool, bool) {
	return f.a.admit([]charge{{key: key, label: "svc-" + key, items: items}})
}

// flood has "flood" send 5,000 items every 10 ms for a second and "calm" 10 items once,
// refreshing as the background would; it returns how many flood requests were refused.
func (f *fixture) flood(heapMiB uint64) (refused int) {
	for i := range 100 {
		if _, r := f.send("flood", 5000); r {
			refused++
		}
		if i%10 == 0 {
			f.step(10*time.Millisecond, heapMiB)
		} else {
			f.clock = f.clock.Add(10 * time.Millisecond)
		}
	}
	return refused
}

// counted sums the refused counter by "signal/reason/producer".
func (f *fixture) counted(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				var parts []string
				for _, k := range []string{"signal", "reason", "producer"} {
					v, _ := dp.Attributes.Value(attrKey(k))
					parts = append(parts, v.AsString())
				}
				out[strings.Join(parts, "/")] += dp.Value
			}
		}
	}
	return out
}

func TestEveryoneIsAdmittedWithoutPressure(t *testing.T) {
	f := newFixture(t, nil)
	f.send("calm", 10)
	if refused := f.flood(30); refused != 0 {
		t.Fatalf("refused %d flood requests with the heap below the threshold", refused)
	}
}

func TestTheFloodIsRefusedUnderPressureAndTheCalmProducerIsNot(t *testing.T) {
	f := newFixture(t, nil)
	f.send("calm", 10)
	f.step(0, 60)
	refused := f.flood(60)
	if refused < 90 {
		t.Fatalf("refused %d of 100 flood requests under pressure", refused)
	}
	if over, r := f.send("calm", 10); r || over[0] {
		t.Fatal("the calm producer was refused")
	}
}

func TestALoneFloodIsRefusedToo(t *testing.T) {
	f := newFixture(t, nil)
	f.step(0, 60)
	if refused := f.flood(60); refused < 90 {
		t.Fatalf("refused %d of 100 requests of a flood alone: it would fill the heap before anyone else is heard", refused)
	}
}

func TestProducersAtTheSameRateAreLeftToTheMemoryLimiter(t *testing.T) {
	f := newFixture(t, nil)
	f.send("a", 1)
	f.send("b", 1)
	f.step(0, 60)
	for i := range 100 {
		for _, p := range []string{"a", "b"} {
			if _, r := f.send(p, 5000); r {
				t.Fatalf("request %d of %s refused: it sends no more than the other", i, p)
			}
		}
		f.step(10*time.Millisecond, 60)
	}
}

func TestAProducerUnderTheFloorIsNeverRefused(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MinRate = 1e9 })
	f.send("calm", 10)
	f.step(0, 60)
	if refused := f.flood(60); refused != 0 {
		t.Fatalf("refused %d requests below min_rate", refused)
	}
}

func TestPressureTurnsOffOnlyOnceTheHeapStaysBelowTheReleaseThreshold(t *testing.T) {
	f := newFixture(t, nil) // release_after 1s
	for i, c := range []struct {
		after time.Duration
		heap  uint64
		want  bool
	}{
		{0, 30, false}, {0, 49, false}, {0, 50, true}, {0, 45, true}, {0, 40, true},
		// A dip below the release threshold shorter than release_after does not count.
		{0, 39, true}, {500 * time.Millisecond, 30, true}, {100 * time.Millisecond, 41, true},
		{100 * time.Millisecond, 39, true}, {900 * time.Millisecond, 20, true},
		{100 * time.Millisecond, 20, false}, {0, 45, false},
	} {
		f.step(c.after, c.heap)
		if got := f.a.pressure.Load(); got != c.want {
			t.Fatalf("step %d, heap %d MiB: pressure %v, want %v", i, c.heap, got, c.want)
		}
	}
}

func TestAFloodThatStoppedIsForgiven(t *testing.T) {
	f := newFixture(t, nil)
	f.send("calm", 10)
	f.step(0, 60)
	f.flood(60)
	f.send("other", 10)
	// Ten half-lives later what it sent is forgotten, but for a thousandth.
	f.step(10*time.Second, 60)
	if _, r := f.send("flood", 500); r {
		t.Fatal("a producer that has been quiet for ten half-lives is still refused")
	}
}

func TestIdleProducersLeaveTheTable(t *testing.T) {
	f := newFixture(t, nil)
	f.send("a", 1)
	f.step(30*time.Second, 0)
	f.send("b", 1)
	f.step(31*time.Second, 0)
	if _, ok := f.a.producers["a"]; ok || len(f.a.producers) != 1 {
		t.Fatalf("after a minute idle: %d producers, a kept: %v", len(f.a.producers), ok)
	}
}

func TestProducersBeyondTheBoundShareOneEntry(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxProducers = 2 })
	f.send("calm", 10)
	f.send("b", 10)
	// A flood spread over many identities is one producer once the table is full.
	f.step(0, 60)
	refused := 0
	for i := range 100 {
		if _, r := f.send("spread-"+string(rune('a'+i%26)), 5000); r {
			refused++
		}
		if i%10 == 0 {
			f.step(10*time.Millisecond, 60)
		}
	}
	if len(f.a.producers) != 3 {
		t.Fatalf("%d producers held, want 2 and the shared entry", len(f.a.producers))
	}
	if refused < 80 {
		t.Fatalf("refused %d of 100 requests spread over identities", refused)
	}
	if _, r := f.send("calm", 10); r {
		t.Fatal("the calm producer was refused")
	}
}

func TestDisabledAdmitsEverything(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Enabled = false })
	f.send("calm", 10)
	f.step(0, 99)
	if refused := f.flood(99); refused != 0 {
		t.Fatalf("disabled, it refused %d requests", refused)
	}
}

func TestRefusedItemsAreCountedWithReasonAndProducer(t *testing.T) {
	f := newFixture(t, nil)
	f.send("calm", 10)
	f.step(0, 60)
	f.flood(60)
	charges := []charge{{key: "flood", label: "svc-flood", items: 5000}, {key: "calm", label: "svc-calm", items: 7}}
	over, refuse := f.a.admit(charges)
	if !refuse {
		t.Fatal("a request with the flood in it was admitted")
	}
	f.a.count(context.Background(), "metrics", charges, over)
	got := f.counted(t)
	if got["metrics/over_fair_share/svc-flood"] != 5000 || got["metrics/shared_request/svc-calm"] != 7 {
		t.Fatalf("counted %v", got)
	}
}

func TestProducerLabelsAreBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Names.MaxLabelValues = 2 })
	for _, l := range []string{"a", "b", "c", "a"} {
		f.a.count(context.Background(), "logs", []charge{{label: l, items: 1}}, []bool{true})
	}
	got := f.counted(t)
	if len(got) != 3 || got["logs/over_fair_share/a"] != 2 || got["logs/over_fair_share/other"] != 1 {
		t.Fatalf("counted %v", got)
	}
}

// The processors of every signal share one admitter, so the flood's spans count toward
// the same producer as its points, and a refusal is retryable.
func TestProcessorsRefuseWithARetryableErrorAndPassTheRest(t *testing.T) {
	set := processortest.NewNopSettings(NewFactory().Type())
	cfg := testConfig()
	cfg.MemoryLimitMiB = 100
	metricsSink, tracesSink, logsSink := &consumertest.MetricsSink{}, &consumertest.TracesSink{}, &consumertest.LogsSink{}
	ctx := context.Background()
	mp, err := NewFactory().CreateMetrics(ctx, set, cfg, metricsSink)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := NewFactory().CreateTraces(ctx, set, cfg, tracesSink)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := NewFactory().CreateLogs(ctx, set, cfg, logsSink)
	if err != nil {
		t.Fatal(err)
	}
	shared := mp.(*metricsGate).shared
	if tp.(*tracesGate).shared != shared || lp.(*logsGate).shared != shared {
		t.Fatal("the signals do not share one admitter")
	}
	// Shut down, the admitter leaves the registry: no later test gets it, under pressure.
	t.Cleanup(func() {
		for _, c := range []component.Component{mp, tp, lp} {
			if err := c.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	var heap atomic.Uint64
	shared.admitter.memory = func() memory { return memory{heap: heap.Load()} }
	shared.admitter.gc = nil

	if err := lp.ConsumeLogs(ctx, logs("calm", 1)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := tp.ConsumeTraces(ctx, spans(3000)); err != nil {
			t.Fatalf("without pressure: %v", err)
		}
	}
	heap.Store(60 * mib)
	shared.admitter.refresh()
	err = mp.ConsumeMetrics(ctx, anonymousPoints(5000))
	if !errors.Is(err, errOverFairShare) || consumererror.IsPermanent(err) {
		t.Fatalf("the anonymous flood: %v, want a retryable refusal", err)
	}
	if err := lp.ConsumeLogs(ctx, logs("calm", 1)); err != nil {
		t.Fatalf("the calm producer: %v", err)
	}
	if metricsSink.DataPointCount() != 0 || tracesSink.SpanCount() != 9000 || logsSink.LogRecordCount() != 2 {
		t.Fatalf("passed on %d points, %d spans, %d log records", metricsSink.DataPointCount(), tracesSink.SpanCount(), logsSink.LogRecordCount())
	}
}

// anonymous resources: neither service.name nor service.instance.id.
func anonymousPoints(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sum := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum()
	for range n {
		sum.DataPoints().AppendEmpty().SetIntValue(1)
	}
	return md
}

func spans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for range n {
		ss.Spans().AppendEmpty()
	}
	return td
}

func logs(service string, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(serviceName, service)
	sl := rl.ScopeLogs().AppendEmpty()
	for range n {
		sl.LogRecords().AppendEmpty()
	}
	return ld
}

func TestProducerIdentity(t *testing.T) {
	g := gate{shared: &sharedAdmitter{admitter: newAdmitter(testConfig(), zap.NewNop(), nil, nil)}}
	keyOf := func(attrs map[string]string) charge {
		md := pmetric.NewMetrics()
		res := md.ResourceMetrics().AppendEmpty().Resource()
		for k, v := range attrs {
			res.Attributes().PutStr(k, v)
		}
		return g.charge(res, 1)
	}
	anon := keyOf(nil)
	if anon.label != "anonymous" {
		t.Fatalf("label of a resource without a name: %q", anon.label)
	}
	onlyID := keyOf(map[string]string{serviceInstanceID: "x"})
	a := keyOf(map[string]string{serviceName: "ab", serviceInstanceID: "c"})
	b := keyOf(map[string]string{serviceName: "a", serviceInstanceID: "bc"})
	if onlyID.key == anon.key || a.key == b.key || a.label != "ab" {
		t.Fatalf("keys: anonymous %q, only an id %q, ab+c %q, a+bc %q", anon.key, onlyID.key, a.key, b.key)
	}
}

func TestValidateNamesEveryBadSetting(t *testing.T) {
	cfg := testConfig()
	cfg.MemoryLimitMiB = 0
	cfg.PressurePercent = 50
	cfg.ReleasePercent = 60
	cfg.HalfLife = 0
	cfg.MaxProducers = 0
	cfg.Names.RefusedMetric = ""
	err := cfg.Validate()
	for _, want := range []string{"memory_limit_mib", "release_percent", "half_life", "max_producers", "refused_metric"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate() = %v, want it to name %s", err, want)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Fatalf("defaults with names: %v", err)
	}
	if err := createDefaultConfig().Validate(); err == nil || !strings.Contains(err.Error(), "names") {
		t.Fatalf("defaults without the contract's names: %v, want them asked for", err)
	}
}

func TestTheHeapIsKeptUnderTheTargetOnlyUnderPressure(t *testing.T) {
	f := newFixture(t, nil) // collect at 65 MiB
	limit := int64(math.MaxInt64)
	f.a.gc = newGCTuner(65*mib, func(l int64) int64 {
		old := limit
		if l >= 0 {
			limit = l
		}
		return old
	})
	f.a.cfg.ReleaseAfter = 0
	for _, c := range []struct {
		heap, limited uint64
		want          int64
	}{
		{30, 50, math.MaxInt64},
		// What the runtime holds beside the heap, plus the target.
		{60, 80, (20 + 65) * mib},
		{45, 90, (45 + 65) * mib},
		{30, 50, math.MaxInt64},
	} {
		f.clock = f.clock.Add(time.Second)
		f.a.memory = func() memory { return memory{heap: c.heap * mib, limited: c.limited * mib} }
		f.a.refresh()
		if limit != c.want {
			t.Fatalf("heap %d MiB: limit %d MiB, want %d MiB", c.heap, limit/mib, c.want/mib)
		}
	}
	// An operator's GOMEMLIMIT bounds it, and comes back.
	limit = 100 * mib
	f.a.memory = func() memory { return memory{heap: 60 * mib, limited: 80 * mib} }
	f.a.refresh()
	if limit != 85*mib {
		t.Fatalf("limit %d MiB under a GOMEMLIMIT of 100", limit/mib)
	}
	f.a.memory = func() memory { return memory{heap: 70 * mib, limited: 200 * mib} }
	f.a.refresh()
	if limit != 100*mib {
		t.Fatalf("limit %d MiB, above the GOMEMLIMIT of 100", limit/mib)
	}
	f.a.stop, f.a.done = make(chan struct{}), make(chan struct{})
	close(f.a.done)
	f.a.stopAndWait()
	if limit != 100*mib {
		t.Fatalf("after shutdown under pressure: limit %d MiB", limit/mib)
	}
}

func TestOneLargeExportIsNotAFlood(t *testing.T) {
	f := newFixture(t, nil)
	f.send("calm", 10)
	f.step(0, 60)
	if _, r := f.send("big", 50_000); r {
		t.Fatal("the first export of a producer was refused for its size")
	}
	if _, r := f.send("big", 10); !r {
		t.Fatal("right after 50,000 items in an instant, the producer is still within its share")
	}
}
