// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

func journaledConfig(dir string) *Config {
	cfg := attributionConfig()
	cfg.Origin.Delivery = "hypertool.ledger.delivery"
	cfg.Attribution.Directory = dir
	return cfg
}

// journaled starts a traces instance on dir's journal, as a collector's start does.
func journaled(t *testing.T, cfg *Config, next consumer.Metrics) *genai {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := newGenai(cfg, zap.NewNop(), next)
	g.tracksAgents()
	if err := g.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	g.book = fakeBook{}
	return g
}

// crash stops an instance the way SIGKILL does: nothing more is written.
func crash(g *genai) {
	close(g.tracker.stop)
	<-g.tracker.done
	g.tracker.stop = nil
	_ = g.tracker.journal.f.Close()
	g.tracker.journal = nil
}

func TestACallStillWaitingSurvivesACrashAndStillFindsItsAgent(t *testing.T) {
	dir := t.TempDir()
	first := journaled(t, journaledConfig(dir), &consumertest.MetricsSink{})
	consume(t, first, trace(20, workflow, 2)) // acknowledged while waiting for triage
	crash(first)

	sink := &consumertest.MetricsSink{}
	second := journaled(t, journaledConfig(dir), sink)
	defer func() { _ = second.Shutdown(context.Background()) }()
	consume(t, second, trace(20, workflow, 1, 0)) // the sender retries what was not acknowledged
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=triage}": 12})
}

// failing refuses every export, as a ledger that cannot write does.
type failing struct{ consumertest.MetricsSink }

func (f *failing) ConsumeMetrics(context.Context, pmetric.Metrics) error {
	return errors.New("disk full")
}

func TestACallSettledButNotInTheLedgerIsSentAgainWithItsDelivery(t *testing.T) {
	dir := t.TempDir()
	first := journaled(t, journaledConfig(dir), &failing{})
	consume(t, first, trace(21, workflow, 2))
	first.expireAndFlush(time.Now().Add(2*time.Hour), "wait_expired", false) // refused
	crash(first)
	// Refused again at the next start, then a crash: still open in the rewritten journal.
	crash(journaled(t, journaledConfig(dir), &failing{}))

	sink := &consumertest.MetricsSink{}
	second := journaled(t, journaledConfig(dir), sink)
	defer func() { _ = second.Shutdown(context.Background()) }()
	expect(t, totals(sink), map[string]float64{
		"tokens{chatmode=unknown,model=gpt-4o-mini,persona=support-app}":   12,
		"unattributed{producer=" + openinference + ",reason=wait_expired}": 1,
	})
	var deliveries []string
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			if v, ok := rm.Resource().Attributes().Get("hypertool.ledger.delivery"); ok {
				deliveries = append(deliveries, v.Str())
			}
		}
	}
	if len(deliveries) != 1 || deliveries[0] == "" {
		t.Fatalf("one delivery, as settled before the crash: %v", deliveries)
	}
	text, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if !containsBytes(text, []byte(deliveries[0])) {
		t.Errorf("the delivery sent again is the one journaled: %s not in %s", deliveries[0], text)
	}
}

func TestAJournalIsCompactedAtStartAndATornLineIgnored(t *testing.T) {
	dir := t.TempDir()
	g := journaled(t, journaledConfig(dir), &consumertest.MetricsSink{})
	consume(t, g, trace(22, workflow, 2, 5, 4))
	consume(t, g, trace(22, workflow, 3)) // billing's call settles; billing waits for its caller
	crash(g)
	path := filepath.Join(dir, journalFile)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"k":"add","id":99,"t":"`) // a crash mid-write
	_ = f.Close()

	waiting, settled, next, err := replay(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 2 || len(settled) != 0 || next != 4 {
		t.Fatalf("triage's call and billing's switch wait, billing's call is done: waiting %v, settled %v, next %d", waiting, settled, next)
	}
	second := journaled(t, journaledConfig(dir), &consumertest.MetricsSink{})
	defer func() { _ = second.Shutdown(context.Background()) }()
	if second.tracker.pending != 2 {
		t.Errorf("the call and the switch wait again: %d", second.tracker.pending)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := len(splitLines(text)); lines != 2 {
		t.Errorf("the journal holds just what waits: %d lines\n%s", lines, text)
	}
}

func containsBytes(s, sub []byte) bool { return contains2(string(s), string(sub)) }

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}

func TestAGracefulStopKeepsWhatWaitsForTheNextStart(t *testing.T) {
	dir := t.TempDir()
	sink := &consumertest.MetricsSink{}
	first := journaled(t, journaledConfig(dir), sink)
	consume(t, first, trace(23, workflow, 2))
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := totals(sink); len(got) != 0 {
		t.Fatalf("nothing counted at the stop: %v", got)
	}
	second := journaled(t, journaledConfig(dir), sink)
	defer func() { _ = second.Shutdown(context.Background()) }()
	consume(t, second, trace(23, workflow, 1, 0))
	expect(t, totals(sink), map[string]float64{"tokens{chatmode=unknown,model=gpt-4o-mini,persona=triage}": 12})
}

func TestAJournalGrownPastItsBoundIsRewrittenWithWhatIsOpen(t *testing.T) {
	dir := t.TempDir()
	g := journaled(t, journaledConfig(dir), &consumertest.MetricsSink{})
	defer func() { _ = g.Shutdown(context.Background()) }()
	consume(t, g, trace(24, workflow, 2, 5, 4)) // three journaled: two calls and no agent yet
	consume(t, g, trace(24, workflow, 3))       // billing's call settles, billing waits for triage
	g.tracker.journal.size = journalCompactBytes
	g.expireAndFlush(time.Now(), "wait_expired", false) // a tick: nothing expired, compacted
	text, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := splitLines(text); len(lines) != 2 {
		t.Fatalf("what still waits: triage's call and billing's switch, not %d lines:\n%s", len(lines), text)
	}
	if g.tracker.journal.size >= journalCompactBytes {
		t.Errorf("the size starts again: %d", g.tracker.journal.size)
	}
	// It goes on appending to the rewritten journal.
	consume(t, g, trace(24, workflow, 1, 0))
	waiting, settled, _, err := replay(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 0 || len(settled) != 0 {
		t.Errorf("all settled and done: waiting %v, settled %v", waiting, settled)
	}
}
