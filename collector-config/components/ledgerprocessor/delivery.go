// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"sort"
	"strconv"
	"strings"
)

// maxGaps bounds the ranges kept per process. A sequence that never arrives (an export
// its sender gave up on) leaves a gap for good; past this many, the oldest gap is closed,
// and a resend that would have filled it is counted as a duplicate instead.
const maxGaps = 256

// delivery is one export of one process: "<process>:<sequence>", sequence from 1.
type delivery struct {
	process string
	seq     uint64
}

// parseDelivery reads a delivery id; false for anything else, which is then treated as
// an export without one (as from a producer that sends none).
func parseDelivery(id string) (delivery, bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 {
		return delivery{}, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq == 0 {
		return delivery{}, false
	}
	return delivery{process: id[:i], seq: seq}, true
}

func (d delivery) String() string {
	return d.process + ":" + strconv.FormatUint(d.seq, 10)
}

// applied is the set of sequences applied of one process, as sorted, disjoint,
// non-adjacent ranges: the contiguous prefix from 1 (while nothing is lost, the only
// range) and whatever arrived above a gap.
type applied struct {
	Ranges [][2]uint64 `json:"ranges"`
	// Last is when the process last had a delivery applied, for DeliveryWindow.
	Last int64 `json:"last"`
}

// find is the index of the first range that ends at or after seq.
func (a *applied) find(seq uint64) int {
	return sort.Search(len(a.Ranges), func(i int) bool { return a.Ranges[i][1] >= seq })
}

func (a *applied) has(seq uint64) bool {
	i := a.find(seq)
	return i < len(a.Ranges) && a.Ranges[i][0] <= seq
}

// add records seq (not yet applied), merging it with the ranges it touches.
func (a *applied) add(seq uint64, at int64) {
	if at > a.Last {
		a.Last = at
	}
	i := a.find(seq)
	if i < len(a.Ranges) && a.Ranges[i][0] <= seq {
		return
	}
	joinsPrev := i > 0 && a.Ranges[i-1][1]+1 == seq
	joinsNext := i < len(a.Ranges) && a.Ranges[i][0] == seq+1
	switch {
	case joinsPrev && joinsNext:
		a.Ranges[i-1][1] = a.Ranges[i][1]
		a.Ranges = append(a.Ranges[:i], a.Ranges[i+1:]...)
	case joinsPrev:
		a.Ranges[i-1][1] = seq
	case joinsNext:
		a.Ranges[i][0] = seq
	default:
		a.Ranges = append(a.Ranges, [2]uint64{})
		copy(a.Ranges[i+1:], a.Ranges[i:])
		a.Ranges[i] = [2]uint64{seq, seq}
	}
	if len(a.Ranges) > maxGaps {
		a.Ranges[1][0] = a.Ranges[0][0]
		a.Ranges = a.Ranges[1:]
	}
}

// deliveries are the applied sequences of every process seen within DeliveryWindow.
type deliveries map[string]*applied

func (ds deliveries) has(d delivery) bool {
	a, ok := ds[d.process]
	return ok && a.has(d.seq)
}

func (ds deliveries) add(d delivery, at int64) {
	a, ok := ds[d.process]
	if !ok {
		a = &applied{}
		ds[d.process] = a
	}
	a.add(d.seq, at)
}

// expire forgets the processes with no delivery applied since cutoff.
func (ds deliveries) expire(cutoff int64) int {
	removed := 0
	for p, a := range ds {
		if a.Last < cutoff {
			delete(ds, p)
			removed++
		}
	}
	return removed
}
