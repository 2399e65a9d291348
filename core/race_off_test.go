//go:build !race

package core_test

// raceEnabled reports whether the tests run under the race detector, which
// slows them ten times: the heaviest tests then check a sample.
const raceEnabled = false
