// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package agentsumsconnector sums the hypertool library's own counters fleet-wide.
//
// Every agent process exports deltas of a few counters. The ledger needs them as streams
// with no per-process identity: one resource, the counter's labels and nothing else, but
// for the export's origin (delivery id, producer), which the ledger reads and removes. This
// connector does that in one pass over each export, in Go, and checks each point on the
// way, as the genai connector does for everyone else's usage. It prices the library's
// tokens by type at list price in the same batch, so that a resent export is priced once.
// Points it does not sum are counted, by reason, never dropped silently. Metrics that are
// not the library's are left to the genai connector beside it (skip_others), or passed on.
package agentsumsconnector // import "github.com/hypertool-observability/hypertool/collector/agentsumsconnector"
