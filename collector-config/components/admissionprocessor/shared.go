// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package admissionprocessor

import (
	"runtime/metrics"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"

	"github.com/hypertool-observability/hypertool/collector/admissionprocessor/internal/metadata"
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
	// The counter of refused items, as metadata.yaml declares it (mdatagen's builder).
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	s := &sharedAdmitter{admitter: newAdmitter(cfg, set.Logger, readMemory, telemetry.AdmissionRefusedItems)}
	s.release = func() {
		registryMu.Lock()
		defer registryMu.Unlock()
		if registry[set.ID] == s {
			delete(registry, set.ID)
			telemetry.Shutdown()
		}
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
// new admitter: also when it was never started (a collector whose start failed elsewhere
// shuts down what it created), so that the next one does not find this one, with its old
// configuration and state, in the registry.
func (s *sharedAdmitter) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started > 0 {
		s.started--
		if s.started > 0 {
			return
		}
		s.admitter.stopAndWait()
	}
	s.release()
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
