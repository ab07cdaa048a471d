// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

// Package internal holds what hypertool's collector components share, so that each helper
// exists once: the agent_sums connector, the ledger and admission processors, and any
// component added beside them (collector-config/components/<name>), import its packages.
//
//   - pdatautil: reading pdata (a number point's value, a metric's point count, an
//     attribute as a string) and cutting label values at a UTF-8 boundary.
//   - unused: the one configuration shape of the counter of points received and not used
//     (hypertool.pipeline.unused), its labels, and a per-request tally that renders it.
//
// It is its own Go module, github.com/hypertool-observability/hypertool/collector/internal,
// never published: every component's go.mod replaces it with ../internal, and the
// collector's builder manifest (collector-config/builder-manifest.yaml, replaces:) does
// the same for the distribution. A component importing it needs both.
package internal
