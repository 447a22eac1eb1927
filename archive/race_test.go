//go:build race

package archive

// raceEnabled reports whether the race detector is on: it multiplies the
// memory a process uses, so the memory test's limit is looser.
const raceEnabled = true
