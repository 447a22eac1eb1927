package search

// LikeSQL returns an SQLite condition on col equivalent to "col LIKE
// pattern" (fold false) or "col ILIKE pattern" (fold true) in MLflow's SQL
// store on SQLite, and its one argument: LIKE is case-sensitive, ILIKE
// compares lower(col) with the lower-cased pattern, folding ASCII only. It is
// written as GLOB, so it does not depend on PRAGMA case_sensitive_like.
func LikeSQL(col, pattern string, fold bool) (cond string, arg any) {
	if fold {
		return "lower(" + col + ") GLOB ?", likeToGlob(asciiLower(pattern))
	}
	return col + " GLOB ?", likeToGlob(pattern)
}
