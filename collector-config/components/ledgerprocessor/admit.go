// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

// admit bounds what the deltas may create. A label value beyond MaxLabelValues distinct
// values of its label and metric becomes FoldValue, and each folded point is counted in
// FoldedMetric; a point that would open a stream beyond MaxStreams is dropped and counted
// in UnusedMetric. The counters are deltas like the others, journaled with them.
func (l *ledger) admit(deltas []*Stream, now int64) []*Stream {
	if len(deltas) == 0 {
		return nil
	}
	out := make([]*Stream, 0, len(deltas))
	folded := map[[2]string]float64{}
	dropped := 0.0
	// Values admitted by earlier deltas of this batch count toward the bound as well.
	pending := map[[3]string]struct{}{}
	newStreams := map[string]struct{}{}
	for _, d := range deltas {
		for k, v := range d.Attributes {
			if l.fold(d.Name, k, v, pending) {
				d.Attributes[k] = l.cfg.FoldValue
				folded[[2]string{d.Name, k}]++
			}
		}
		key := d.key()
		if _, ok := l.state.streams[key]; !ok {
			if _, ok := newStreams[key]; !ok {
				if len(l.state.streams)+len(newStreams) >= l.cfg.MaxStreams {
					dropped++
					continue
				}
				newStreams[key] = struct{}{}
			}
		}
		out = append(out, d)
	}
	return append(out, l.counters(deltas[0], folded, dropped, now)...)
}

// fold reports whether value must be folded, and otherwise admits it into pending.
func (l *ledger) fold(metric, label, value string, pending map[[3]string]struct{}) bool {
	if value == l.cfg.FoldValue {
		return false
	}
	known, n := l.state.admitted(metric, label, value)
	if known {
		return false
	}
	p := [3]string{metric, label, value}
	if _, ok := pending[p]; ok {
		return false
	}
	for q := range pending {
		if q[0] == metric && q[1] == label {
			n++
		}
	}
	if n >= l.cfg.MaxLabelValues {
		return true
	}
	pending[p] = struct{}{}
	return false
}

// counters are the deltas of the fold and drop counters, in the first delta's resource
// and scope, which never exceed any bound themselves.
func (l *ledger) counters(like *Stream, folded map[[2]string]float64, dropped float64, now int64) []*Stream {
	var out []*Stream
	names := l.cfg.FoldedMetric
	for mk, n := range folded {
		out = append(out, &Stream{
			Name: names.Name, Description: names.Description, Unit: names.Unit,
			Kind: kindSum, Monotonic: true, Scope: like.Scope, Resource: like.Resource,
			Attributes: map[string]string{names.MetricLabel: mk[0], names.KeyLabel: mk[1]},
			Start:      now, Last: now, Sum: n,
		})
	}
	if dropped > 0 {
		unused := l.cfg.UnusedMetric
		attrs := make(map[string]string, len(unused.Labels))
		for k, v := range unused.Labels {
			attrs[k] = v
		}
		out = append(out, &Stream{
			Name: unused.Name, Description: unused.Description, Unit: unused.Unit,
			Kind: kindSum, Monotonic: true, Scope: like.Scope, Resource: like.Resource,
			Attributes: attrs, Start: now, Last: now, Sum: dropped,
		})
	}
	return out
}
