// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"hash/maphash"
	"strings"
	"sync"
)

// lookupCache keeps Find's results, misses too, by (provider, model) as given: bounded,
// and sharded so that goroutines looking up different models rarely share a lock.
type lookupCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 16

type cacheKey struct{ provider, model string }

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]*Model // nil: no such model
	_  [64]byte            // keeps shards' locks off each other's cache lines
}

// newLookupCache caches up to size lookups; nil (size <= 0) caches none.
func newLookupCache(size int) *lookupCache {
	if size <= 0 {
		return nil
	}
	c := &lookupCache{seed: maphash.MakeSeed(), perShard: (size + cacheShards - 1) / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*Model)
	}
	return c
}

func (c *lookupCache) shard(provider, model string) *cacheShard {
	h := maphash.String(c.seed, model) ^ maphash.String(c.seed, provider)*0x9e3779b97f4a7c15
	return &c.shards[h%cacheShards]
}

func (c *lookupCache) get(provider, model string) (m *Model, hit bool) {
	if c == nil {
		return nil, false
	}
	s := c.shard(provider, model)
	s.mu.RLock()
	m, hit = s.m[cacheKey{provider, model}]
	s.mu.RUnlock()
	return m, hit
}

func (c *lookupCache) put(provider, model string, m *Model) {
	if c == nil {
		return
	}
	// Copies: the caller's strings may share a large buffer (a decoded request).
	key := cacheKey{strings.Clone(provider), strings.Clone(model)}
	s := c.shard(provider, model)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && len(s.m) >= c.perShard {
		for evict := range s.m { // map order is random: a random entry
			delete(s.m, evict)
			break
		}
	}
	s.m[key] = m
}
