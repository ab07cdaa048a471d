// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiconnector

import (
	"math"
	"sort"
	"testing"
)

func TestBucketIsSearchFloat64s(t *testing.T) {
	bounds := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	values := []float64{0, 0.05, 0.0500001, 0.1, 1, 3599, 3600, 3600.5, math.Inf(1), math.NaN(), -1}
	for _, b := range [][]float64{bounds, bounds[:1], nil} {
		for _, v := range values {
			if got, want := bucket(b, v), sort.SearchFloat64s(b, v); got != want {
				t.Errorf("bucket(%v, %v) = %d, want %d", b, v, got, want)
			}
		}
	}
}
