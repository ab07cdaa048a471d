// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// The directory holds one snapshot and the journals written since:
//
//	snapshot.json      {"generation": g, "streams": [...], "deliveries": {...}}, replaced
//	                   by rename
//	journal.<n>.jsonl  one line per accepted batch of deltas, for every n > g, with the
//	                   deliveries it applies: one write, so both are kept or neither
//
// A snapshot covers the journals up to its generation, and those are deleted only after
// it is in place: a crash at any step leaves either the old snapshot with its journals
// or the new one, never a journal counted twice.
const (
	snapshotName  = "snapshot.json"
	journalPrefix = "journal."
	journalSuffix = ".jsonl"
	lockName      = "lock"
)

type snapshot struct {
	Generation int        `json:"generation"`
	Streams    []*Stream  `json:"streams"`
	Deliveries deliveries `json:"deliveries,omitempty"`
}

type record struct {
	Deltas []*Stream `json:"deltas"`
	// Deliveries ("<process>:<sequence>") this batch applies, at At.
	Deliveries []string `json:"deliveries,omitempty"`
	At         int64    `json:"at,omitempty"`
}

type store struct {
	cfg        *Config
	dir        string
	fsync      bool
	lock       *os.File
	journal    *os.File
	generation int
	size       int64
	enc        encoder
}

// openStore locks dir and loads the state it holds. A torn last journal line (a crash in
// the middle of an append, which was therefore never acknowledged) is skipped and
// reported in skipped.
func openStore(cfg *Config) (*store, *state, int, error) {
	dir, fsync := cfg.Directory, cfg.Fsync
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, 0, fmt.Errorf("ledger directory %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("ledger lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, 0, fmt.Errorf("ledger directory %s is in use by another collector: %w", dir, err)
	}
	s := &store{cfg: cfg, dir: dir, fsync: fsync, lock: lock}
	st, skipped, err := s.load()
	if err != nil {
		s.close()
		return nil, nil, 0, err
	}
	return s, st, skipped, nil
}

func (s *store) load() (*state, int, error) {
	st := newState(s.cfg)
	snap := snapshot{}
	data, err := os.ReadFile(filepath.Join(s.dir, snapshotName))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, 0, fmt.Errorf("ledger snapshot: %w", err)
	default:
		if err := json.Unmarshal(data, &snap); err != nil {
			return nil, 0, fmt.Errorf("ledger snapshot %s is corrupt: %w", filepath.Join(s.dir, snapshotName), err)
		}
	}
	for _, stream := range snap.Streams {
		st.apply(stream)
	}
	if snap.Deliveries != nil {
		st.deliveries = snap.Deliveries
	}
	s.generation = snap.Generation
	journals, err := s.journals()
	if err != nil {
		return nil, 0, err
	}
	skipped := 0
	for _, n := range journals {
		if n <= snap.Generation {
			continue
		}
		torn, err := replay(s.journalPath(n), st)
		if err != nil {
			return nil, 0, err
		}
		skipped += torn
		s.generation = n
	}
	return st, skipped, nil
}

// replay applies every complete line of one journal.
func replay(path string, st *state) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("ledger journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	torn := 0
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var rec record
			if !bytes.HasSuffix(line, []byte("\n")) || json.Unmarshal(line, &rec) != nil {
				torn++
			} else {
				st.replay(&rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return torn, nil
		}
		if err != nil {
			return torn, fmt.Errorf("ledger journal %s: %w", path, err)
		}
	}
}

func (s *store) journals() ([]int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("ledger directory: %w", err)
	}
	var out []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, journalPrefix) || !strings.HasSuffix(name, journalSuffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, journalPrefix), journalSuffix))
		if err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

func (s *store) journalPath(n int) string {
	return filepath.Join(s.dir, journalPrefix+strconv.Itoa(n)+journalSuffix)
}

// compact writes st as the snapshot of a new generation, removes the journals it covers
// and opens the next journal.
func (s *store) compact(st *state) error {
	if s.journal != nil {
		if err := s.journal.Close(); err != nil {
			return fmt.Errorf("ledger journal: %w", err)
		}
		s.journal = nil
	}
	snap := snapshot{Generation: s.generation, Streams: make([]*Stream, 0, len(st.streams)), Deliveries: st.deliveries}
	for _, stream := range st.streams {
		snap.Streams = append(snap.Streams, stream)
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	if err := writeFileSynced(filepath.Join(s.dir, snapshotName), data); err != nil {
		return err
	}
	journals, err := s.journals()
	if err != nil {
		return err
	}
	for _, n := range journals {
		if n <= s.generation {
			_ = os.Remove(s.journalPath(n))
		}
	}
	s.generation++
	f, err := os.OpenFile(s.journalPath(s.generation), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("ledger journal: %w", err)
	}
	s.journal, s.size = f, 0
	return nil
}

// writeFileSynced replaces path atomically: a crash leaves the old file or the new one.
func writeFileSynced(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("ledger snapshot: %w", err)
	}
	return nil
}

// append writes one record (its deltas, the deliveries they apply, at) as one line with
// one write call: the kernel has it when this returns, so a crash of the process cannot
// lose it (fsync also survives power loss).
func (s *store) append(deltas []*Stream, applied []delivery, at int64) error {
	line, err := s.enc.record(deltas, applied, at)
	if err != nil {
		return fmt.Errorf("ledger journal: %w", err)
	}
	defer s.enc.trim()
	if _, err := s.journal.Write(line); err != nil {
		// A part-written line would tear the next one too: cut it off (the batch is not
		// acknowledged, and its sender retries).
		_ = s.journal.Truncate(s.size)
		return fmt.Errorf("ledger journal append: %w", err)
	}
	s.size += int64(len(line))
	if s.fsync {
		if err := s.journal.Sync(); err != nil {
			return fmt.Errorf("ledger journal sync: %w", err)
		}
	}
	return nil
}

func (s *store) close() error {
	var errs []error
	if s.journal != nil {
		errs = append(errs, s.journal.Close())
		s.journal = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	return errors.Join(errs...)
}
