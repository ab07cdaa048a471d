// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package admissionprocessor refuses, under memory pressure, the producers that send more
// than their fair share, before the memory_limiter refuses everyone.
//
// The memory_limiter is one gate for all: at its limit it refuses a flood and a
// well-behaved agent alike. This processor sits first in each pipeline fed by the OTLP
// receiver. It keeps a decayed rate of items (points, spans, log records) per producer,
// a producer being a resource's service.name and service.instance.id, and samples the
// heap in the background. While the heap is above a pressure threshold set below the
// memory_limiter's, a request from a producer whose rate is above the mean of the
// producers heard from recently (half of everything for a producer alone) and above a
// floor no agent reaches is refused with a retryable error, and counted with the reason
// and the producer in the collector's own telemetry; meanwhile the Go runtime's memory
// limit holds the heap under a target. The flood's work then stops at its decoding, and
// the heap stays below the memory_limiter's threshold.
package admissionprocessor // import "github.com/hypertool-observability/hypertool/collector/admissionprocessor"
