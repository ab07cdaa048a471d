// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package ledgerprocessor

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// keyBefore is how stream keys were made before the keyer: the keyer must make the same.
func keyBefore(s *Stream) string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte(0)
	b.WriteString(s.Kind)
	b.WriteByte(0)
	writeMapBefore(&b, s.Resource)
	b.WriteByte(0)
	writeMapBefore(&b, s.Attributes)
	for _, bound := range s.Bounds {
		b.WriteByte(0)
		b.WriteString(strconv.FormatFloat(bound, 'g', -1, 64))
	}
	return b.String()
}

func writeMapBefore(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(m[k])
		b.WriteByte(2)
	}
}

func TestStreamKeysAreAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var kr keyer
	for i := 0; i < 2000; i++ {
		for _, s := range randomRecord(r).Deltas {
			if got, want := string(kr.key(s)), keyBefore(s); got != want {
				t.Fatalf("key %q, want %q", got, want)
			}
		}
	}
}
