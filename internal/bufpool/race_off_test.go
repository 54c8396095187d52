//go:build !race

package bufpool

// raceEnabled: see race_on_internal_test.go.
const raceEnabled = false
