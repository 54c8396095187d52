//go:build race

package api_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts of pooled paths are not stable under it.
const raceEnabled = true
