// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// errOverFairShare is not permanent, so the receiver answers with a retryable status
// (gRPC UNAVAILABLE, HTTP 503), as the memory_limiter does: a refused SDK sends again later.
var errOverFairShare = errors.New("data refused: this producer sends more than its fair share while the collector is short of memory")

// overflowKey is the one entry every producer beyond MaxProducers shares.
const overflowKey = "\x00overflow"

// charge is what one resource of a request adds to its producer.
type charge struct {
	key      string // service.name and service.instance.id
	label    string // service.name, or Names.Anonymous
	instance string // service.instance.id, for the log
	items    int
}

type producer struct {
	// score is the producer's item count, decayed with HalfLife, as of at.
	score    float64
	at       time.Time
	seen     time.Time
	refusing bool
}

// admitter holds the producers of every pipeline the processor is in, so a producer's
// rate is the sum of its points, spans and log records.
type admitter struct {
	cfg     *Config
	logger  *zap.Logger
	memory  func() memory
	now     func() time.Time
	gc      *gcTuner // nil: the garbage collector is left alone
	refused metric.Int64Counter

	pressureOn, pressureOff uint64 // bytes
	minScore                float64
	pressure                atomic.Bool
	belowSince              time.Time // since when the heap is below the release threshold

	mu        sync.Mutex
	producers map[string]*producer
	// total is the sum of every producer's score, as of totalAt: all scores decay alike,
	// so it is kept up to date with each request, and the fair share is never stale.
	total   float64
	totalAt time.Time
	labels  map[string]struct{}

	stop chan struct{}
	done chan struct{}
}

func newAdmitter(cfg *Config, logger *zap.Logger, mem func() memory, refused metric.Int64Counter) *admitter {
	limit := uint64(cfg.MemoryLimitMiB) << 20
	return &admitter{
		cfg:         cfg,
		logger:      logger,
		memory:      mem,
		now:         time.Now,
		refused:     refused,
		gc:          newGCTuner(limit*uint64(cfg.CollectPercent)/100, debug.SetMemoryLimit),
		pressureOn:  limit * uint64(cfg.PressurePercent) / 100,
		pressureOff: limit * uint64(cfg.ReleasePercent) / 100,
		// A steady rate r keeps a decayed count of r*HalfLife/ln 2.
		minScore:  cfg.MinRate * cfg.HalfLife.Seconds() / math.Ln2,
		producers: map[string]*producer{},
		labels:    map[string]struct{}{},
	}
}

// start samples the heap every CheckInterval until stopAndWait.
func (a *admitter) start() {
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(a.done)
		tick := time.NewTicker(a.cfg.CheckInterval)
		defer tick.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-tick.C:
				a.refresh()
			}
		}
	}()
}

func (a *admitter) stopAndWait() {
	if a.stop == nil {
		return
	}
	close(a.stop)
	<-a.done
	a.stop = nil
	a.pressure.Store(false)
	a.gc.update(false, memory{})
}

// refresh samples the heap, turns fairness on or off, forgets idle producers and sums
// the scores again, so that rounding never accumulates in the running total.
func (a *admitter) refresh() {
	m, now := a.memory(), a.now()
	a.updatePressure(m.heap, now)
	a.gc.update(a.pressure.Load(), m)
	a.mu.Lock()
	defer a.mu.Unlock()
	total := 0.0
	for key, p := range a.producers {
		if now.Sub(p.seen) > a.cfg.IdleAfter {
			delete(a.producers, key)
			continue
		}
		total += a.decay(p, now)
	}
	a.total, a.totalAt = total, now
}

func (a *admitter) updatePressure(heap uint64, now time.Time) {
	was := a.pressure.Load()
	if heap >= a.pressureOff {
		a.belowSince = time.Time{}
	} else if a.belowSince.IsZero() {
		a.belowSince = now
	}
	released := !a.belowSince.IsZero() && now.Sub(a.belowSince) >= a.cfg.ReleaseAfter
	on := heap >= a.pressureOn || (was && !released)
	if on == was {
		return
	}
	a.pressure.Store(on)
	if on {
		a.logger.Warn("admission: heap above the pressure threshold; refusing producers over their fair share",
			zap.Uint64("heap_mib", heap>>20), zap.Uint64("threshold_mib", a.pressureOn>>20))
	} else {
		a.logger.Info("admission: heap back below the release threshold; admitting every producer",
			zap.Uint64("heap_mib", heap>>20), zap.Uint64("release_mib", a.pressureOff>>20))
	}
}

// decay brings p's score to now and returns it.
func (a *admitter) decay(p *producer, now time.Time) float64 {
	p.score, p.at = a.decayed(p.score, p.at, now), now
	return p.score
}

func (a *admitter) decayed(score float64, at, now time.Time) float64 {
	if dt := now.Sub(at); dt > 0 {
		return score * math.Exp2(-dt.Seconds()/a.cfg.HalfLife.Seconds())
	}
	return score
}

// admit reports which producers of a request are over their fair share, then charges
// them (refused or not: the rate is what a producer offers). Over means a rate, before
// this request, above the mean of the producers heard from recently and above the floor:
// a request's own size never counts against it, so one large export is not a flood, and
// producers at the same rate stay within the share whichever sent last. Under pressure a
// request with any producer over is refused whole: an OTLP request is acknowledged or
// retried as one, and admitting part of it would count that part twice.
func (a *admitter) admit(charges []charge) (over []bool, refuse bool) {
	if !a.cfg.Enabled {
		return nil, false
	}
	pressure := a.pressure.Load()
	now := a.now()
	over = make([]bool, len(charges))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total, a.totalAt = a.decayed(a.total, a.totalAt, now), now
	producers := make([]*producer, len(charges))
	for i, c := range charges {
		producers[i] = a.producer(c, now)
		a.decay(producers[i], now)
	}
	limit := a.limit()
	for i, p := range producers {
		over[i] = pressure && p.score > limit
		refuse = refuse || over[i]
		a.logChange(p, charges[i], over[i], limit)
	}
	for i, p := range producers {
		p.score += float64(charges[i].items)
		p.seen = now
		a.total += float64(charges[i].items)
	}
	return over, refuse
}

// limit is the score above which a producer is over its share. A producer alone gets
// half, as if the next were about to come: a flood into a quiet collector would
// otherwise fill the heap before anyone else is heard from. One exactly at the share is
// within it, whatever the rounding of the total.
func (a *admitter) limit() float64 {
	share := a.total / float64(max(len(a.producers), 2))
	return math.Max(share*(1+1e-9), a.minScore)
}

// producer finds or makes the entry of c; beyond MaxProducers every new one shares one.
func (a *admitter) producer(c charge, now time.Time) *producer {
	key := c.key
	if _, ok := a.producers[key]; !ok && len(a.producers) >= a.cfg.MaxProducers {
		key = overflowKey
	}
	p, ok := a.producers[key]
	if !ok {
		p = &producer{at: now, seen: now}
		a.producers[key] = p
	}
	return p
}

// logChange logs when a producer starts or stops being refused, not every refusal.
func (a *admitter) logChange(p *producer, c charge, over bool, limit float64) {
	if over == p.refusing {
		return
	}
	p.refusing = over
	toRate := math.Ln2 / a.cfg.HalfLife.Seconds()
	if over {
		a.logger.Warn("admission: refusing a producer over its fair share",
			zap.String("service.name", c.label), zap.String("service.instance.id", c.instance),
			zap.Float64("items_per_second", p.score*toRate),
			zap.Float64("fair_share_per_second", limit*toRate))
	} else {
		a.logger.Info("admission: admitting a producer again",
			zap.String("service.name", c.label), zap.String("service.instance.id", c.instance))
	}
}

// count records the items of a refused request, each under its own producer.
func (a *admitter) count(ctx context.Context, signal string, charges []charge, over []bool) {
	n := a.cfg.Names
	for i, c := range charges {
		reason := n.SharedRequest
		if over[i] {
			reason = n.OverFairShare
		}
		a.refused.Add(ctx, int64(c.items), metric.WithAttributes(
			attribute.String(n.SignalLabel, signal),
			attribute.String(n.ReasonLabel, reason),
			attribute.String(n.ProducerLabel, a.boundedLabel(c.label)),
		))
	}
}

// boundedLabel keeps the counter's series bounded whatever producers call themselves.
func (a *admitter) boundedLabel(label string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.labels[label]; ok {
		return label
	}
	if len(a.labels) >= a.cfg.Names.MaxLabelValues {
		return a.cfg.Names.Other
	}
	a.labels[label] = struct{}{}
	return label
}
