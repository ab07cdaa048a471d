// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import "github.com/hypertool-observability/hypertool/collector/internal/pdatautil"

// foldKey is what a folded point is counted by: metric, label key, producer.
type foldKey struct {
	metric, label, producer string
}

// admit bounds what the deltas may create. A label value that its producer's quota or
// the fleet's bound has no room for becomes FoldValue (bounds.admit), and each folded
// point is counted in FoldedMetric with its producer; a point that would open a stream
// beyond MaxStreams is dropped and counted in UnusedMetric, as are the points of a
// delivery applied before. The counters are deltas like the others, journaled with them.
func (l *ledger) admit(b *batch, now int64) []*Stream {
	if b.like == nil {
		return nil
	}
	out := b.deltas[:0] // filtered in place: out never passes the delta read
	folded := map[foldKey]float64{}
	dropped := 0.0
	newStreams := map[string]struct{}{}
	for _, d := range b.deltas {
		for k, v := range d.Attributes {
			if !l.state.bounds.admit(d.Name, k, v, d.producer, now) {
				d.Attributes[k] = l.cfg.FoldValue
				folded[foldKey{d.Name, k, d.producerName}]++
			}
		}
		if s, key := l.state.find(d); s == nil {
			if _, ok := newStreams[string(key)]; !ok {
				if len(l.state.streams)+len(newStreams) >= l.cfg.MaxStreams {
					dropped++
					continue
				}
				newStreams[string(key)] = struct{}{}
			}
		}
		out = append(out, d)
	}
	out = append(out, l.foldCounters(b.like, folded, now)...)
	unused := l.cfg.UnusedMetric
	out = append(out, l.unusedCounter(b.like, unused.Reasons.TooManySeries, "", dropped, now)...)
	return append(out, l.unusedCounter(b.like, unused.Reasons.Duplicate, unused.DuplicateProducer, b.duplicates, now)...)
}

// foldCounters are the deltas of the fold counter, in like's resource and scope.
func (l *ledger) foldCounters(like *Stream, folded map[foldKey]float64, now int64) []*Stream {
	names := l.cfg.FoldedMetric
	byLabels := map[foldKey]*Stream{}
	var out []*Stream
	for fk, n := range folded {
		attrs := map[string]string{names.MetricLabel: fk.metric, names.KeyLabel: fk.label}
		if names.ProducerLabel != "" {
			attrs[names.ProducerLabel] = l.producerLabel(fk.producer, now)
		}
		// Producers folded into one label value add into one delta.
		k := foldKey{fk.metric, fk.label, attrs[names.ProducerLabel]}
		if s, ok := byLabels[k]; ok {
			s.Sum += n
			continue
		}
		s := l.counter(like, names.Name, names.Description, names.Unit, attrs, n, now)
		byLabels[k] = s
		out = append(out, s)
	}
	return out
}

// producerLabel is the folded counter's producer value: the service name, cut, and
// itself bounded fleet-wide (a producer per process name would be a flood of its own).
func (l *ledger) producerLabel(name string, now int64) string {
	names := l.cfg.FoldedMetric
	if name == "" {
		name = names.UnknownProducer
	}
	name = pdatautil.CutUTF8(name, names.MaxProducerBytes)
	if !l.state.bounds.admitFleet(names.Name, names.ProducerLabel, name, now) {
		return l.cfg.FoldValue
	}
	return name
}

// unusedCounter is the delta of the unused counter for reason and producer ("": unknown),
// if n is not zero.
func (l *ledger) unusedCounter(like *Stream, reason, producer string, n float64, now int64) []*Stream {
	if n == 0 {
		return nil
	}
	unused := l.cfg.UnusedMetric
	return []*Stream{l.counter(like, unused.Name, unused.Description, unused.Unit, unused.Labels(reason, producer), n, now)}
}

func (l *ledger) counter(like *Stream, name, description, unit string, attrs map[string]string, n float64, now int64) *Stream {
	return &Stream{
		Name: name, Description: description, Unit: unit,
		Kind: kindSum, Monotonic: true, Scope: like.Scope, Resource: like.Resource,
		Attributes: attrs, Start: now, Last: now, Sum: n,
	}
}
