//go:build !race

package fsstore

// raceEnabled reports whether the race detector is on (tests shrink).
const raceEnabled = false
