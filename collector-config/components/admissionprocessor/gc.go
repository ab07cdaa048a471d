// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import "math"

// memory is one sample of the Go runtime's memory.
type memory struct {
	// heap: bytes of heap objects, garbage not yet swept included (what the
	// memory_limiter compares with its limit).
	heap uint64
	// limited: what the runtime's own memory limit applies to.
	limited uint64
}

// gcTuner keeps the heap under a target while under pressure, through the runtime's
// memory limit: set to what the runtime holds beside the heap plus the target, it makes
// the collector run as often as that takes (its CPU capped by the runtime at half the
// process), and paces itself where a forced collection could not.
type gcTuner struct {
	target   uint64
	setLimit func(int64) int64
	saved    int64
	on       bool
}

func newGCTuner(target uint64, setLimit func(int64) int64) *gcTuner {
	if target == 0 {
		return nil
	}
	return &gcTuner{target: target, setLimit: setLimit}
}

// update follows the runtime's overhead while under pressure, and gives the limit it
// found (GOMEMLIMIT, or none) back after. That limit also bounds the one set here.
func (g *gcTuner) update(pressure bool, m memory) {
	if g == nil {
		return
	}
	if !pressure {
		if g.on {
			g.setLimit(g.saved)
			g.on = false
		}
		return
	}
	if !g.on {
		g.saved, g.on = g.setLimit(-1), true
	}
	overhead := m.limited - min(m.heap, m.limited)
	limit := overhead + g.target
	if limit > math.MaxInt64 {
		limit = math.MaxInt64
	}
	g.setLimit(min(int64(limit), g.saved))
}
