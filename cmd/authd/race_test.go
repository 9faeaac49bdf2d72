//go:build race

package main

// raceEnabled slows nothing down by itself: tests that repeat a measured
// step many times use it to repeat it less under the race detector, which
// makes every step about ten times slower.
const raceEnabled = true
