// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
)

// sharedAdmitter is one admitter per component id, whatever pipelines it is in: a
// producer's share is over all it sends, and the heap is sampled once.
type sharedAdmitter struct {
	admitter *admitter
	mu       sync.Mutex
	started  int
	release  func()
}

var (
	registryMu sync.Mutex
	registry   = map[component.ID]*sharedAdmitter{}
)

func sharedFor(set processor.Settings, cfg *Config) (*sharedAdmitter, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if s, ok := registry[set.ID]; ok {
		return s, nil
	}
	n := cfg.Names
	refused, err := set.MeterProvider.Meter(scopeName).Int64Counter(n.RefusedMetric,
		metricDescription(n.Description), metricUnit(n.Unit))
	if err != nil {
		return nil, err
	}
	s := &sharedAdmitter{admitter: newAdmitter(cfg, set.Logger, heapInUse, refused)}
	s.release = func() {
		registryMu.Lock()
		defer registryMu.Unlock()
		delete(registry, set.ID)
	}
	registry[set.ID] = s
	return s, nil
}

func (s *sharedAdmitter) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started++
	if s.started == 1 {
		setGoMemoryLimit(s.admitter.cfg, s.admitter.logger)
		s.admitter.start()
	}
}

// shutdown stops the sampler with the last pipeline, and lets a new configuration make a
// new admitter.
func (s *sharedAdmitter) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started == 0 {
		return
	}
	s.started--
	if s.started == 0 {
		s.admitter.stopAndWait()
		s.release()
	}
}

// heapObjects is what the memory_limiter measures (runtime.MemStats.Alloc), read
// without stopping the world.
const heapObjects = "/memory/classes/heap/objects:bytes"

func heapInUse() uint64 {
	sample := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// setGoMemoryLimit makes the garbage collector work harder near the limit, unless the
// operator chose GOMEMLIMIT.
func setGoMemoryLimit(cfg *Config, logger *zap.Logger) {
	if cfg.GoMemoryLimitPercent == 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(cfg.MemoryLimitMiB) << 20 * int64(cfg.GoMemoryLimitPercent) / 100
	debug.SetMemoryLimit(limit)
	logger.Info("admission: Go memory limit set", zap.Int64("mib", limit>>20))
}
