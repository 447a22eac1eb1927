//go:build race

package sqlstore_test

// raceEnabled is true when the tests are built with -race, which makes the
// SQLite code (transpiled C) about ten times slower: the multi-process and
// crash tests then run at a smaller default size (see writerSize and
// crashTrials) to stay within go test's default timeout.
const raceEnabled = true
