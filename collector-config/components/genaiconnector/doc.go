// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package genaiconnector makes the fleet's usage series of every producer that is not
// the hypertool library: Claude Code and the GenAI instrumentations' usage metrics, the
// usage on the spans of producers that report it nowhere else, handoffs between agents,
// and the library's spans (stage, persona and call durations, workflow runs).
//
// It runs on a data table (Config) that `hypertool render` writes from the names
// contract, and prices usage that reports no cost from genai-prices' own data file. It
// writes delta sums and histograms for the ledger, one resource per producer, and counts
// everything it receives and does not use, by signal, reason and producer.
package genaiconnector // import "github.com/hypertool-observability/hypertool/collector/genaiconnector"
