// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"runtime/metrics"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
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
	s := &sharedAdmitter{admitter: newAdmitter(cfg, set.Logger, readMemory, refused)}
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
	if s.started == 1 && s.admitter.cfg.Enabled {
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

// What the memory_limiter measures (runtime.MemStats.Alloc), and what the Go runtime's
// memory limit applies to (all it holds but what it gave back), read without stopping
// the world.
const (
	heapObjects  = "/memory/classes/heap/objects:bytes"
	goTotal      = "/memory/classes/total:bytes"
	heapReleased = "/memory/classes/heap/released:bytes"
)

func readMemory() memory {
	samples := []metrics.Sample{{Name: heapObjects}, {Name: goTotal}, {Name: heapReleased}}
	metrics.Read(samples)
	v := make([]uint64, len(samples))
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return memory{heap: v[0], limited: v[1] - min(v[2], v[1])}
}
