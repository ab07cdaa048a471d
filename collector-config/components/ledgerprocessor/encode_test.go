// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.uber.org/zap"
)

// goldenJournal was written by the ledger when it encoded with encoding/json: streams of
// sums and a histogram, label values to escape (HTML characters, quotes, control
// characters, U+2028, invalid UTF-8, non-ASCII), floats on both sides of the exponent
// cutoffs, fold and duplicate counters, deliveries, and a line of deliveries only.
const goldenJournal = "testdata/journal_v0.jsonl"

// goldenNow is just after its last line.
const goldenNow = int64(1796540852864903287) + 1e9

func goldenLines(t *testing.T) [][]byte {
	t.Helper()
	data, err := os.ReadFile(goldenJournal)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	return lines[:len(lines)-1]
}

func encodeRecord(rec *record) ([]byte, error) {
	var applied []delivery
	for _, id := range rec.Deliveries {
		d, ok := parseDelivery(id)
		if !ok {
			return nil, &json.UnsupportedValueError{Str: id}
		}
		applied = append(applied, d)
	}
	var e encoder
	return e.record(rec.Deltas, applied, rec.At)
}

func TestJournalLinesAreWrittenAsBefore(t *testing.T) {
	// Each line of a journal written with encoding/json is written the same, byte for byte.
	for i, line := range goldenLines(t) {
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		got, err := encodeRecord(&rec)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if bytes.Contains(line, []byte(`\ufffd`)) {
			// Invalid UTF-8 reads back as U+FFFD, which is written as it is.
			line, _ = json.Marshal(&rec)
			line = append(line, '\n')
		}
		if !bytes.Equal(got, line) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got, line)
		}
	}
}

func TestAJournalWrittenBeforeIsReplayed(t *testing.T) {
	// Its totals, histogram and deliveries are all back after a start on it.
	dir := t.TempDir()
	data, err := os.ReadFile(goldenJournal)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "journal.1.jsonl"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := originConfig(dir)
	cfg.MaxLabelValues = 8 // as when it was written
	l, sink := startAt(t, cfg, goldenNow)
	defer l.Shutdown(context.Background())
	want(t, sink, map[string]float64{
		"tokens/backend-engineer": 7, "tokens/ünïcode-é": 7, `tokens/quote"back\slash`: 7,
		"tokens/<html>&amp;": 3, "tokens/bad\ufffdutf8": 3, "tokens/ctl\x01\t\n\u2028": 3,
		"unused/duplicate": 1, "folded/v": 3,
	})
	for _, s := range l.state.streams {
		if s.Name == "hypertool.workflow.stage.duration" && (s.Count != 10 || s.Buckets[5] != math.MaxUint64 || s.Bounds[4] != 3e21) {
			t.Errorf("histogram %+v", s)
		}
	}
	for _, id := range []string{"agent-1:1", "agent-1:3", "agent-2:1"} {
		if d, _ := parseDelivery(id); !l.state.deliveries.has(d) {
			t.Errorf("delivery %s not applied", id)
		}
	}
}

func startAt(t *testing.T, cfg *Config, now int64) (*ledger, *consumertest.MetricsSink) {
	t.Helper()
	sink := &consumertest.MetricsSink{}
	l := newLedger(cfg, zap.NewNop(), sink)
	l.clock = func() int64 { return now }
	if err := l.Start(context.Background(), nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	return l, sink
}

func TestJournalEncodingIsEncodingJSONs(t *testing.T) {
	// Random records: the encoder writes what json.Marshal writes, and fails where it fails.
	r := rand.New(rand.NewPCG(1, 2))
	var e encoder
	for i := 0; i < 2000; i++ {
		rec := randomRecord(r)
		want, wantErr := json.Marshal(rec)
		var applied []delivery
		for _, id := range rec.Deliveries {
			d, _ := parseDelivery(id)
			applied = append(applied, d)
		}
		got, err := e.record(rec.Deltas, applied, rec.At)
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("record %d: error %v, want %v", i, err, wantErr)
		}
		if err == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

var oddStrings = []string{
	"", "persona", "backend-engineer", "<b>&amp;", "a<b", "a>b", "a&b", `"quoted"`, `back\slash`, "tab\there",
	"nl\n", "\x00\x01\x1f\x7f", "\u2028\u2029", "é", "日本語", "bad\xff\xfe", "\xed\xa0\x80",
	"claude-sonnet-4-5@2025/09:29", "~!#$%^*()_+={}[]|;',.?",
}

var oddFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 5e-324, 1e20, 1e21, 9.99e20,
	123456789.125, math.MaxFloat64, -2.5e-9, 1e300, 3,
}

var seriesBounds = [][]float64{
	{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3601},
	{0, 1, 2}, {math.Copysign(0, -1), 1, 2}, {1e-7, 1e21},
}

func randomRecord(r *rand.Rand) *record {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	strMap := func() map[string]string {
		if r.IntN(4) == 0 {
			return nil
		}
		m := map[string]string{}
		for n := r.IntN(5); n > 0; n-- {
			m[pick(oddStrings)] = pick(oddStrings)
		}
		return m
	}
	float := func() float64 {
		switch r.IntN(40) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1 - 2*r.IntN(2))
		}
		if r.IntN(2) == 0 {
			return oddFloats[r.IntN(len(oddFloats))]
		}
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30))
	}
	rec := &record{}
	if r.IntN(5) > 0 {
		rec.Deltas = []*Stream{}
	}
	for n := r.IntN(4); rec.Deltas != nil && n > 0; n-- {
		s := &Stream{
			Name: pick(oddStrings), Description: pick(oddStrings), Unit: pick(oddStrings),
			Kind: pick([]string{kindSum, kindHistogram}), Monotonic: r.IntN(2) == 0,
			Scope: pick(oddStrings), Resource: strMap(), Attributes: strMap(),
			Start: r.Int64() - r.Int64(), Last: r.Int64(), Sum: float(),
		}
		if r.IntN(2) == 0 {
			s.Count = r.Uint64() >> r.IntN(64)
			for b := r.IntN(4); b > 0; b-- {
				s.Bounds = append(s.Bounds, float())
				s.Buckets = append(s.Buckets, r.Uint64()>>r.IntN(64))
			}
			if r.IntN(2) == 0 { // the bounds of a series, again and again
				s.Bounds = seriesBounds[r.IntN(len(seriesBounds))]
			}
		}
		rec.Deltas = append(rec.Deltas, s)
	}
	for n := r.IntN(3); n > 0; n-- {
		rec.Deliveries = append(rec.Deliveries, delivery{process: pick(oddStrings) + "p", seq: 1 + r.Uint64()>>r.IntN(64)}.String())
	}
	if len(rec.Deliveries) > 0 {
		rec.At = r.Int64()
	}
	return rec
}
