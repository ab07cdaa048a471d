// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"strings"
	"sync"
	"sync/atomic"
)

// lookupCache keeps Find's results, misses too, by (provider, model) as given. Reads take
// no lock (sync.Map), so goroutines on every core look up at once. It is bounded: a
// lookup that would make it hold more than size results empties it first, and the
// lookups in use fill it again.
type lookupCache struct {
	size    int64
	entries sync.Map // cacheKey -> *Model (nil: no such model)
	count   atomic.Int64
	clear   sync.Mutex
}

type cacheKey struct{ provider, model string }

// newLookupCache caches up to size lookups; nil (size <= 0) caches none.
func newLookupCache(size int) *lookupCache {
	if size <= 0 {
		return nil
	}
	return &lookupCache{size: int64(size)}
}

func (c *lookupCache) get(provider, model string) (m *Model, hit bool) {
	if c == nil {
		return nil, false
	}
	v, hit := c.entries.Load(cacheKey{provider, model})
	if !hit {
		return nil, false
	}
	return v.(*Model), true
}

func (c *lookupCache) put(provider, model string, m *Model) {
	if c == nil {
		return
	}
	if c.count.Load() >= c.size {
		c.clear.Lock()
		if c.count.Load() >= c.size {
			c.entries.Clear()
			c.count.Store(0)
		}
		c.clear.Unlock()
	}
	// Copies: the caller's strings may share a large buffer (a decoded request).
	key := cacheKey{strings.Clone(provider), strings.Clone(model)}
	if _, loaded := c.entries.LoadOrStore(key, m); !loaded {
		c.count.Add(1)
	}
}

// len is how many lookups the cache holds.
func (c *lookupCache) len() int {
	n := 0
	c.entries.Range(func(any, any) bool { n++; return true })
	return n
}
