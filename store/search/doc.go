// Package search implements MLflow's search language for mlrun's stores:
// filter strings, order_by clauses, page tokens and page sizes for
// search_runs and search_experiments, the filter strings of
// search_registered_models and search_model_versions, and
// search_logged_models (filters, order_by, datasets) as MLflow's file and
// SQL stores each answer it. Every search of every backend lives here.
//
// The package is backend-neutral. It owns parsing and checking requests
// (with MLflow's messages), the parsed forms ([Filter], [RunOrder],
// [ExperimentOrder], [RunSearch], [ExperimentSearch], the logged model
// and registry filters), page tokens and page sizes, and the in-memory
// evaluation of a parsed search (matching, ordering, paging) that the file
// store uses. It writes no SQL and knows no database schema: sqlstore
// translates the parsed forms into SQL over MLflow's tables itself
// (sqlstore/searchsql.go, sqlstore/loggedmodelsearch.go), and its tests
// check that the translation gives the answers of this package's
// matchers.
//
// mlrun must answer a search exactly as MLflow does, so this package follows
// MLflow 3.17.2 (mlflow/utils/search_utils.py, and
// mlflow/store/tracking/sqlalchemy_store.py for how the SQL store applies a
// parsed filter), and is checked against MLflow itself: see
// testdata/search/make_corpus.py and the parity tests.
//
// # Parsing
//
// MLflow tokenises and groups filter strings with sqlparse and then
// inspects the groups, so what it accepts and the messages it gives depend
// on sqlparse's lexer and grouping rules. This package uses a port of
// both (sqlparse 0.6.1, as installed with MLflow 2.22.5 and 3.17.2, in
// store/search/internal/pysql) and adds MLflow's checks on top, so it
// accepts and rejects the same strings with the same messages. Python
// prints sets in a per-process random order; messages that contain a set
// print it sorted.
//
// [ParseRunFilter], [ParseExperimentFilter], [ParseRegisteredModelFilter] and
// [ParseModelVersionFilter] return a [Filter]: ANDed [Clause] values (an
// [Entity], a key, an [Op] and a [Value]). [ParseRunOrderBy] and
// [ParseExperimentOrderBy] parse order_by lists. Rejected input gives an
// error wrapping store.ErrInvalidParameter with MLflow's message, or, where
// MLflow itself fails with an internal error (a duplicated order_by field,
// a list literal Python cannot evaluate), an error for which [IsInternal]
// is true.
//
// # Semantics
//
// [MatchRun], [RunOrder.Compare], [MatchExperiment] and
// [ExperimentOrder.Compare] evaluate a search in memory with the semantics
// of MLflow's SQL store (3.x) on SQLite; [Paginate] and [PaginateExperiments]
// apply a whole request to a slice, for the file store. sqlstore translates
// the same parsed searches into parameterised SQL over MLflow's schema.
// Both paths give the same answers: the tests of each run every corpus
// case.
//
// MLflow's own file store answers some searches differently from its SQL
// store. mlrun follows the SQL store in all of these, for both of its
// backends:
//
//   - Infinite metrics. The SQL store stores ±Inf as ±1.7976931348623157e308,
//     so metrics.x = 1.7976931348623157e308 matches an infinite metric,
//     metrics.x > 1.7976931348623157e308 does not, and an infinite value
//     sorts level with the largest finite one. The file store compares true
//     infinities.
//   - NaN metrics. The SQL store keeps NaN as 0 with an is_nan flag; a NaN
//     metric satisfies only != (MLflow 2 matched it as the number 0). The
//     file store compares NaN as Python does (also only !=).
//   - LIKE and ILIKE. SQL LIKE is case-sensitive, % and _ match any
//     character including newlines, and there is no escape character. ILIKE
//     is lower(x) LIKE lower(pattern) with SQLite's lower(), which folds
//     ASCII letters only: 'ü%' does not match "Ünicode". The file store
//     turns patterns into Python regular expressions: its ILIKE folds all
//     of Unicode, . does not match a newline, and $ also matches before a
//     final newline.
//   - run_name. The SQL store filters on the mlflow.runName tag (a run
//     whose tag was deleted matches no run_name clause) but sorts on the
//     run's name column; the file store uses the run's name for both.
//   - Comparators and values are checked for every clause before anything
//     is read, in MLflow's order (max_results, filter syntax, order_by,
//     comparators, page token). The file store checks a clause's
//     comparator only when it evaluates that clause on a run, so an invalid
//     comparator can go unreported (no runs, or an earlier clause false).
//   - A list value with = or LIKE (run_id = ('a')) is an error (SQLite
//     cannot bind a tuple); the file store matches nothing.
//   - order_by: a field given twice is an error; dataset fields are
//     "Invalid identifier type 'dataset'" (file store: "Invalid order_by
//     entity type 'dataset'").
//   - max_results must be between 1 and 50000 ("It must be a positive
//     integer" / "It must be at most 50000"); the file store has a
//     different message above 50000 and no lower bound (0 gives an empty
//     page, -1 every run but the last).
//   - A negative page-token offset counts as 0 (SQLite's OFFSET); the file
//     store slices Python-style from the end of the list.
//   - Experiments: comparators are case-sensitive (name like 'a%' is an
//     error; the file store upper-cases them), experiment_id only takes
//     = != IN NOT IN with integer strings, creation_time and
//     last_update_time only take integers, and experiment ids sort as
//     numbers (the file store sorts them as strings: "10" before "9").
//
// The next page token is set when more rows follow the page, as MLflow 3's
// SQL store and both file stores do (MLflow 2's SQL store set it whenever a
// page was full).
//
// # MLflow 2
//
// The corpus is also recorded with MLflow 2.22.5, and the tests report
// (without failing) where mlrun's answers differ from it. The differences
// are all MLflow changes between the versions: MLflow 2 has no IS NULL /
// IS NOT NULL, drops IN-list entries that are not entirely lower-case,
// accepts only a narrower list syntax, has no experiment_id filter for
// experiments, matches NaN metrics as 0 in SQL, sets a next page token on
// every full page, and lists different comparators in some messages.
package search
