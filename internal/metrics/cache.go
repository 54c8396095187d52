package metrics

import (
	"sync"
	"sync/atomic"
)

// DefaultCacheMax bounds a Cache whose Max is zero.
const DefaultCacheMax = 4096

// Cache maps a comparable key (route, status, site, …) to a resolved label
// child so the request path does one map lookup instead of hashing label
// strings and allocating the variadic slice of WithLabelValues. Reads take
// no lock and do not allocate; a miss copies the map (misses are rare: the
// key space is bounded). The zero value is ready to use and safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	// Max bounds the entries; past it Add returns v without caching it, so a
	// runaway key space costs speed, not memory. Zero means DefaultCacheMax.
	Max int

	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serializes Add
}

// Get returns the child cached for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Add caches v for k unless k is already cached, and returns the cached value.
func (c *Cache[K, V]) Add(k K, v V) V {
	v, _ = c.add(k, v, c.Max)
	return v
}

// add is Add with an explicit limit; ok is false when the cache is full and
// v was not cached.
func (c *Cache[K, V]) add(k K, v V, limit int) (_ V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if cur, ok := (*old)[k]; ok {
			return cur, true
		}
	}
	if limit <= 0 {
		limit = DefaultCacheMax
	}
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= limit {
		return v, false
	}
	next := make(map[K]V, n+1)
	if old != nil {
		for key, val := range *old {
			next[key] = val
		}
	}
	next[k] = v
	c.m.Store(&next)
	return v, true
}

// Len returns the number of cached entries.
func (c *Cache[K, V]) Len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// Other is the label value for free-form values that Bounded does not keep.
const Other = "other"

// Bounded turns free-form request values (a Host header, a client version)
// into label values from a bounded set: the first Max distinct values that
// are short printable tokens keep their own label; anything else is Other.
// The zero value keeps DefaultBoundedMax values; set Max and MaxLen before
// first use. It is safe for concurrent use.
type Bounded struct {
	// Max is the number of distinct values kept (DefaultBoundedMax when 0).
	Max int
	// MaxLen is the longest value kept (DefaultBoundedLen when 0).
	MaxLen int

	cache Cache[string, string]
}

// Defaults for Bounded.
const (
	DefaultBoundedMax = 32
	DefaultBoundedLen = 64
)

// Label returns v's label value.
func (b *Bounded) Label(v string) string {
	if l, ok := b.cache.Get(v); ok {
		return l
	}
	max, maxLen := b.Max, b.MaxLen
	if max <= 0 {
		max = DefaultBoundedMax
	}
	if maxLen <= 0 {
		maxLen = DefaultBoundedLen
	}
	if b.cache.Len() >= max || !isToken(v, maxLen) {
		return Other
	}
	// Clone: v may point into a request buffer that is reused.
	l := string([]byte(v))
	if got, ok := b.cache.add(l, l, max); ok {
		return got
	}
	return Other
}

// isToken reports whether v is 1..maxLen bytes of printable ASCII without
// spaces, quotes or backslashes.
func isToken(v string, maxLen int) bool {
	if len(v) == 0 || len(v) > maxLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
