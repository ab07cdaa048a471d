// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import "time"

// forgotten owns the values loaded from disk: owners are not journaled, so after a
// restart a value keeps its place in the bound but counts toward no producer's quota.
const forgotten = "\x00forgotten"

// sweepEvery spaces the scans for idle values of one label: a flood at the bound would
// otherwise scan every value for every point it sends. Idle is measured in hours.
const sweepEvery = int64(time.Second)

// bounds keeps, per metric and label, the values in use: what MaxLabelValues,
// ProducerQuota and LabelIdle are measured on. It is derived from the streams (their
// Last times) and from admissions; no total depends on it.
type bounds struct {
	fleet  int
	quota  int
	idle   int64
	pinned map[string]map[string]struct{}
	fold   string
	sets   map[[2]string]*valueSet
}

type valueSet struct {
	values map[string]*inUse
	// owned counts the values each producer brought in that are still in use.
	owned map[string]int
	swept int64
}

type inUse struct {
	last  int64
	owner string
}

func newBounds(cfg *Config) *bounds {
	b := &bounds{
		fleet: cfg.MaxLabelValues, quota: cfg.ProducerQuota, idle: cfg.LabelIdle.Nanoseconds(),
		pinned: map[string]map[string]struct{}{}, fold: cfg.FoldValue,
		sets: map[[2]string]*valueSet{},
	}
	for label, values := range cfg.PinnedValues {
		set := map[string]struct{}{}
		for _, v := range values {
			set[v] = struct{}{}
		}
		b.pinned[label] = set
	}
	return b
}

// exempt values are kept whatever the bounds: the fold value and the pinned ones.
func (b *bounds) exempt(label, value string) bool {
	if value == b.fold {
		return true
	}
	_, ok := b.pinned[label][value]
	return ok
}

func (b *bounds) set(metric, label string) *valueSet {
	k := [2]string{metric, label}
	vs := b.sets[k]
	if vs == nil {
		vs = &valueSet{values: map[string]*inUse{}, owned: map[string]int{}}
		b.sets[k] = vs
	}
	return vs
}

// seen records that a stream with this value was updated at last (loading, applying).
func (b *bounds) seen(metric, label, value string, last int64) {
	if b.exempt(label, value) {
		return
	}
	vs := b.set(metric, label)
	if v, ok := vs.values[value]; ok {
		if last > v.last {
			v.last = last
		}
		return
	}
	vs.values[value] = &inUse{last: last, owner: forgotten}
}

// admit reports whether producer's point may keep value, admitting it if it is new (or
// came back after LabelIdle) and both the fleet's bound and producer's quota have room.
// An admission is not undone if the batch then fails: the sender retries with the same
// values, which find their place kept.
func (b *bounds) admit(metric, label, value, producer string, now int64) bool {
	if b.exempt(label, value) {
		return true
	}
	vs := b.set(metric, label)
	if v, ok := vs.values[value]; ok {
		if v.last >= now-b.idle {
			v.last = now
			return true
		}
		vs.remove(value, v)
	}
	if b.full(vs, producer) {
		b.sweep(vs, now)
		if b.full(vs, producer) {
			return false
		}
	}
	vs.values[value] = &inUse{last: now, owner: producer}
	if producer != forgotten {
		vs.owned[producer]++
	}
	return true
}

func (b *bounds) full(vs *valueSet, producer string) bool {
	return len(vs.values) >= b.fleet || (producer != forgotten && vs.owned[producer] >= b.quota)
}

// admitFleet is admit with the fleet's bound only: for labels the ledger writes itself.
func (b *bounds) admitFleet(metric, label, value string, now int64) bool {
	return b.admit(metric, label, value, forgotten, now)
}

func (b *bounds) sweep(vs *valueSet, now int64) {
	if now-vs.swept < sweepEvery {
		return
	}
	vs.swept = now
	b.forget(vs, now-b.idle)
}

// forget removes the values not seen since cutoff from vs.
func (b *bounds) forget(vs *valueSet, cutoff int64) {
	for value, v := range vs.values {
		if v.last < cutoff {
			vs.remove(value, v)
		}
	}
}

// expire removes, everywhere, the values not seen since cutoff (streams expired).
func (b *bounds) expire(cutoff int64) {
	for _, vs := range b.sets {
		b.forget(vs, cutoff)
	}
}

func (vs *valueSet) remove(value string, v *inUse) {
	delete(vs.values, value)
	if v.owner == forgotten {
		return
	}
	if vs.owned[v.owner]--; vs.owned[v.owner] <= 0 {
		delete(vs.owned, v.owner)
	}
}
