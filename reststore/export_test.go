package reststore

// SetHistoryPageSize sets GetMetricHistory's page size for a test and
// returns a function restoring it.
func SetHistoryPageSize(n int) (restore func()) {
	old := historyPageSize
	historyPageSize = n
	return func() { historyPageSize = old }
}
