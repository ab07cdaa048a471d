// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package agentsumsconnector sums the hypertool library's own counters fleet-wide.
//
// Every agent process exports deltas of a few counters. The ledger needs them as streams
// with no per-process identity: one resource, the counter's labels and nothing else, but
// for the export's origin (delivery id, producer), which the ledger reads and removes. This
// connector does that in one pass over each export, in Go, where signal_to_metrics would
// evaluate an OTTL condition per entry per point, and it checks each point on the way, as
// transform/guard does for foreign usage. Points it does not sum are counted, by reason,
// never dropped silently. Metrics that are not the library's go on, unchanged, to the
// pipelines that handle foreign usage.
package agentsumsconnector // import "github.com/hypertool-observability/hypertool/collector/agentsumsconnector"
