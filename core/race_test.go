//go:build race

package core

// raceEnabled is true when the tests run under the race detector, which
// slows them tenfold: the largest cases are then trimmed.
const raceEnabled = true
