package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/sqlstore/internal/schemafp"
)

// The files under sql/ are generated from databases created by real MLflow
// releases; see generate_test.go (go test ./sqlstore/schema -run
// TestSchemaIdentity -update). For each supported MLflow version X there is:
//
//	sql/mlflow-X.sql        the schema objects and seed rows, in replay order
//	sql/mlflow-X.revisions  the alembic revision chain of X, oldest first
//
// where X is the newest release with that alembic head, and
//
//	sql/releases.tsv        every MLflow release from 2.0.0 on, its head and
//	                        number of revisions (read from its wheel)
//
// scripts/record-schemas.sh records them all from the releases' wheels; see
// record.py.
//
// mlflow-X.sql starts with "-- key: value" header lines (mlflow-version,
// alembic-revision, default-experiment-columns), then holds blocks that each
// start with a marker line, "-- object: <type> <name>" for a sqlite_master
// object (whose SQL text follows verbatim, then ";") or "-- data: <table>" for
// a seed row (an INSERT statement).
//
//go:embed sql/*.sql sql/*.revisions sql/releases.tsv
var sqlFS embed.FS

// statement is one schema object or seed row of a bundle.
type statement struct {
	kind string // "table", "index", "trigger", "view" or "data"
	name string // object name, or table name for "data"
	sql  string // exact text (sqlite_master.sql for objects), without ";"
}

// bundle is everything needed to create the database of one MLflow version.
type bundle struct {
	version    string
	revision   string
	expColumns []string // columns MLflow fills when inserting experiment 0
	stmts      []statement
	chain      []string                     // alembic revisions, oldest first; ends with revision
	releases   []string                     // MLflow releases whose head is revision, oldest first
	recorded   string                       // "sqlalchemy X, alembic Y" MLflow ran with when recorded
	tables     map[string][]schemafp.Column // table -> columns, from the CREATE TABLE texts
}

// bundles holds the supported versions, oldest first.
var bundles = mustLoad()

func mustLoad() []*bundle {
	bs, err := loadBundles()
	if err != nil {
		panic("sqlstore/schema: embedded schema files: " + err.Error())
	}
	return bs
}

func loadBundles() ([]*bundle, error) {
	names, err := fs.Glob(sqlFS, "sql/mlflow-*.sql")
	if err != nil {
		return nil, err
	}
	var out []*bundle
	for _, name := range names {
		data, err := sqlFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		b, err := parseBundle(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if want := "mlflow-" + b.version + ".sql"; path.Base(name) != want {
			return nil, fmt.Errorf("%s declares mlflow-version %s", name, b.version)
		}
		revs, err := sqlFS.ReadFile(strings.TrimSuffix(name, ".sql") + ".revisions")
		if err != nil {
			return nil, err
		}
		b.chain = parseRevisions(string(revs))
		if len(b.chain) == 0 || b.chain[len(b.chain)-1] != b.revision {
			return nil, fmt.Errorf("%s: revision chain does not end with %s", name, b.revision)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no schema files")
	}
	sort.Slice(out, func(i, j int) bool { return compareVersions(out[i].version, out[j].version) < 0 })
	rel, err := sqlFS.ReadFile("sql/releases.tsv")
	if err != nil {
		return nil, err
	}
	if err := attachReleases(out, string(rel)); err != nil {
		return nil, fmt.Errorf("sql/releases.tsv: %w", err)
	}
	return out, nil
}

// attachReleases fills in each bundle's releases from the text of
// releases.tsv ("release<TAB>head<TAB>revisions" lines). Every bundle's own
// version must be listed with the bundle's head (TestBundles checks it is the newest); releases whose head
// has no bundle are not supported.
func attachReleases(bs []*bundle, text string) error {
	byRev := map[string]*bundle{}
	for _, b := range bs {
		if byRev[b.revision] != nil {
			return fmt.Errorf("MLflow %s and %s have the same head %s", byRev[b.revision].version, b.version, b.revision)
		}
		byRev[b.revision] = b
	}
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return fmt.Errorf("line %d: want release, head and number of revisions", i+1)
		}
		if b := byRev[f[1]]; b != nil {
			b.releases = append(b.releases, f[0])
		}
	}
	for _, b := range bs {
		sort.Slice(b.releases, func(i, j int) bool { return compareVersions(b.releases[i], b.releases[j]) < 0 })
		if !slices.Contains(b.releases, b.version) {
			return fmt.Errorf("MLflow %s is not listed with its head %s", b.version, b.revision)
		}
	}
	return nil
}

// parseBundle parses the text of an mlflow-X.sql file.
func parseBundle(text string) (*bundle, error) {
	b := &bundle{}
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "-- "); i++ {
		key, val, ok := strings.Cut(strings.TrimPrefix(lines[i], "-- "), ": ")
		if !ok {
			continue
		}
		switch key {
		case "mlflow-version":
			b.version = val
		case "alembic-revision":
			b.revision = val
		case "recorded-with":
			b.recorded = val
		case "default-experiment-columns":
			for _, c := range strings.Split(val, ",") {
				b.expColumns = append(b.expColumns, strings.TrimSpace(c))
			}
		}
	}
	if b.version == "" || b.revision == "" || len(b.expColumns) == 0 {
		return nil, fmt.Errorf("incomplete header")
	}
	var cur *statement
	var body []string
	finish := func() error {
		if cur == nil {
			return nil
		}
		s := strings.TrimRight(strings.Join(body, "\n"), "\n")
		if !strings.HasSuffix(s, ";") {
			return fmt.Errorf("%s %s: statement does not end with ';'", cur.kind, cur.name)
		}
		cur.sql = strings.TrimSuffix(s, ";")
		b.stmts = append(b.stmts, *cur)
		cur, body = nil, nil
		return nil
	}
	for ; i < len(lines); i++ {
		line := lines[i]
		var kind, name string
		if rest, ok := strings.CutPrefix(line, "-- object: "); ok {
			kind, name, _ = strings.Cut(rest, " ")
		} else if rest, ok := strings.CutPrefix(line, "-- data: "); ok {
			kind, name = "data", rest
		}
		if kind == "" {
			if cur == nil {
				if strings.TrimSpace(line) != "" {
					return nil, fmt.Errorf("line %d: text outside a block", i+1)
				}
				continue
			}
			body = append(body, line)
			continue
		}
		if err := finish(); err != nil {
			return nil, err
		}
		switch kind {
		case "table", "index", "trigger", "view", "data":
		default:
			return nil, fmt.Errorf("line %d: unknown block kind %q", i+1, kind)
		}
		cur = &statement{kind: kind, name: name}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	b.tables = map[string][]schemafp.Column{}
	for _, st := range b.stmts {
		if st.kind == "table" {
			b.tables[st.name] = schemafp.Columns(st.sql)
		}
	}
	return b, nil
}

func parseRevisions(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// compareVersions compares dotted numeric versions such as "2.22.5".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// lookup returns the bundle of a supported release (any release with a
// recorded head, not only the recorded one).
func lookup(version string) (*bundle, error) {
	for _, b := range bundles {
		if slices.Contains(b.releases, version) {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: MLflow %q (supported: every release of %s)", ErrUnsupportedVersion, version,
		supportedRange())
}
