// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package ledgerprocessor keeps the fleet's running totals on disk.
//
// It replaces delta_to_cumulative at the end of hypertool's pipeline. Each delta it is
// handed is appended to a journal before it is added and before the call returns, so
// once the OTLP receiver has acknowledged an export its usage is on disk: a collector
// killed at any moment restarts with the same totals, the same start times, and nothing
// for Prometheus to read as a reset. Deltas are added under one lock in any order, so no
// upstream component has to order them. An export that carries a delivery id is applied
// once, however often it is resent: the ids applied are journaled in the same line as
// the deltas. It also bounds the distinct values in use of each label of each metric,
// fleet-wide and per producer, folding new values beyond the bounds into one value.
package ledgerprocessor // import "github.com/hypertool-observability/hypertool/collector/ledgerprocessor"
