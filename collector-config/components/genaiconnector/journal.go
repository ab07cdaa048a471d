// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The calls waiting for their agent span were acknowledged to their sender: a crash must
// not lose them. So each is journaled before its export is acknowledged ("add"); when it
// settles, the delivery it goes to the ledger as is journaled first ("settle": this run's
// id and a sequence, and the persona it settled as), then its end ("done"). A restart
// replays the journal: an added call waits again (its agent span may still come: its
// sender retries what was not acknowledged), a settled one is sent again as it was, and
// the ledger, which applies each delivery once, adds it only if it had not.

const journalFile = "pending.jsonl"

// journalCompactBytes: a journal past this is rewritten with only what is still open.
// Every waiting call adds about 600 bytes over its life (add, settle, done).
const journalCompactBytes = 16 << 20

type journalRecord struct {
	Kind string `json:"k"`
	ID   uint64 `json:"id"`
	// add
	Trace    string            `json:"t,omitempty"`
	Parent   string            `json:"p,omitempty"`
	Since    int64             `json:"s,omitempty"`
	Producer string            `json:"op,omitempty"`
	Instance string            `json:"oi,omitempty"`
	Labels   map[string]string `json:"l,omitempty"`
	Scope    string            `json:"sc,omitempty"`
	In       float64           `json:"in,omitempty"`
	Out      float64           `json:"out,omitempty"`
	Provider string            `json:"pr,omitempty"`
	End      uint64            `json:"e,omitempty"`
	Agent    string            `json:"a,omitempty"`
	// settle
	Delivery string `json:"d,omitempty"`
	Persona  string `json:"ps,omitempty"`
	Reason   string `json:"r,omitempty"`
}

// journal appends records to the pending file; every method is called under the
// tracker's lock.
type journal struct {
	f     *os.File
	path  string
	size  int64 // bytes written since it was last rewritten
	fsync bool
	run   string // this run's delivery process: "genai-" and a random id
	seq   uint64 // its last delivery sequence
	next  uint64 // the next call id
	buf   []byte
}

// settledCall is a journaled call that settled: its add record and its settle record.
type settledCall [2]journalRecord

// openJournal replays dir's journal into what still waits and what was settled and not
// done, and starts a fresh journal holding just those.
func openJournal(dir string, fsync bool) (*journal, []journalRecord, []settledCall, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	path := filepath.Join(dir, journalFile)
	waiting, settled, next, err := replay(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	run := make([]byte, 8)
	if _, err := rand.Read(run); err != nil {
		return nil, nil, nil, err
	}
	j := &journal{path: path, fsync: fsync, run: "genai-" + hex.EncodeToString(run), next: next}
	if err := j.rewrite(openRecords(waiting, settled)); err != nil {
		return nil, nil, nil, err
	}
	return j, waiting, settled, nil
}

// openRecords is what a rewritten journal holds: each waiting call's add, and each
// settled call's add and settle, so that a replay of it finds them again.
func openRecords(waiting []journalRecord, settled []settledCall) []journalRecord {
	recs := append([]journalRecord(nil), waiting...)
	for _, call := range settled {
		recs = append(recs, call[0], call[1])
	}
	return recs
}

// rewrite replaces the journal with recs: written beside it, synced, renamed over it.
func (j *journal) rewrite(recs []journalRecord) error {
	tmp := j.path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	old, oldSize := j.f, j.size
	j.f, j.size = f, 0
	if err = j.write(recs...); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		_ = f.Close()
		j.f, j.size = old, oldSize
		return err
	}
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// replay reads a journal: the calls added and not settled, the ones settled and not
// done, and the next free call id. A torn last line (a crash mid-write) is ignored.
func replay(path string) ([]journalRecord, []settledCall, uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, 1, nil
	}
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	added := map[uint64]journalRecord{}
	settled := map[uint64]settledCall{}
	var order []uint64
	next := uint64(1)
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a line without its newline was never whole
		}
		if err != nil {
			return nil, nil, 0, err
		}
		var rec journalRecord
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		next = max(next, rec.ID+1)
		switch rec.Kind {
		case "add":
			added[rec.ID] = rec
			order = append(order, rec.ID)
		case "settle":
			if add, ok := added[rec.ID]; ok {
				settled[rec.ID] = settledCall{add, rec}
				delete(added, rec.ID)
			}
		case "done":
			delete(added, rec.ID)
			delete(settled, rec.ID)
		}
	}
	var waiting []journalRecord
	var open []settledCall
	for _, id := range order {
		if rec, ok := added[id]; ok {
			waiting = append(waiting, rec)
		}
		if call, ok := settled[id]; ok {
			open = append(open, call)
		}
	}
	return waiting, open, next, nil
}

// write appends records as one write; with fsync, waits for the disk.
func (j *journal) write(recs ...journalRecord) error {
	if j == nil || len(recs) == 0 {
		return nil
	}
	j.buf = j.buf[:0]
	for i := range recs {
		line, err := json.Marshal(&recs[i])
		if err != nil {
			return err
		}
		j.buf = append(append(j.buf, line...), '\n')
	}
	n, err := j.f.Write(j.buf)
	j.size += int64(n)
	if err != nil {
		return err
	}
	if j.fsync {
		return j.f.Sync()
	}
	return nil
}

// delivery is the next delivery of this run, as the ledger reads it.
func (j *journal) delivery() string {
	j.seq++
	return j.run + ":" + strconv.FormatUint(j.seq, 10)
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	return j.f.Close()
}

// record is a waiting call as journaled, its labels by name.
func (g *genai) record(trace pcommon.TraceID, p *pendingUse) journalRecord {
	labels := map[string]string{}
	for name, i := range g.index {
		if p.item[i] != "" {
			labels[name] = p.item[i]
		}
	}
	return journalRecord{
		Kind: "add", ID: p.id, Trace: hex.EncodeToString(trace[:]), Parent: hex.EncodeToString(p.parent[:]),
		Since: p.since.UnixNano(), Producer: p.o.producer, Instance: p.o.instance, Labels: labels,
		Scope: p.scope, In: p.in, Out: p.out, Provider: p.provider, End: uint64(p.end), Agent: p.agent,
	}
}

// restore is a journaled call as it waited, and its trace.
func (g *genai) restore(rec journalRecord) (pcommon.TraceID, *pendingUse) {
	var trace pcommon.TraceID
	var parent pcommon.SpanID
	_, _ = hex.Decode(trace[:], []byte(rec.Trace))
	_, _ = hex.Decode(parent[:], []byte(rec.Parent))
	item := g.newItem()
	for name, v := range rec.Labels {
		if i, ok := g.index[name]; ok {
			item[i] = v
		}
	}
	return trace, &pendingUse{
		id: rec.ID, o: origin{producer: rec.Producer, instance: rec.Instance}, item: item,
		scope: rec.Scope, in: rec.In, out: rec.Out, provider: rec.Provider,
		end: pcommon.Timestamp(rec.End), parent: parent, since: time.Unix(0, rec.Since), agent: rec.Agent,
	}
}
