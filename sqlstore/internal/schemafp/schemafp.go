// Package schemafp renders a SQLite database's schema and contents as
// normalised text, so that two databases can be compared line by line.
//
// The fingerprint holds, in a fixed order:
//
//   - the file-level pragmas encoding, page_size, auto_vacuum, user_version,
//     application_id and journal_mode;
//   - every sqlite_master row (type, name, tbl_name and the SQL text after
//     [NormalizeSQL]), sorted by type and name;
//   - for every table: PRAGMA table_xinfo (the superset of table_info that
//     also lists hidden generated columns), PRAGMA index_list with
//     PRAGMA index_xinfo for each index (sorted by index name, without the
//     seq column), and PRAGMA foreign_key_list grouped per constraint (sorted,
//     without the id column);
//   - every row of every table, sorted, with selected columns masked.
//
// Why the normalisation: MLflow builds its SQLite schema with alembic batch
// table rebuilds whose output order depends on Python object identity. Two
// fresh databases made by the same MLflow can therefore list the CHECK
// constraints of "runs" in a different order, and create a table's indexes in
// a different order (which changes index_list's seq and foreign key ids would
// follow declaration order). None of this changes the meaning of the schema,
// so the fingerprint sorts table constraints, indexes and foreign keys.
// Column order is kept: it is part of the schema (SELECT *, INSERT without a
// column list, table_info cid).
package schemafp

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Options tunes [Fingerprint].
type Options struct {
	// Mask maps a table name to columns whose values are replaced by
	// "<masked>" in the row listing (for example creation timestamps).
	Mask map[string][]string
	// NoRows leaves table contents out of the fingerprint.
	NoRows bool
}

// Fingerprint returns the normalised description of the database described in
// the package comment.
func Fingerprint(ctx context.Context, db *sql.DB, opts Options) (string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var b strings.Builder
	for _, p := range []string{"encoding", "page_size", "auto_vacuum", "user_version",
		"application_id", "journal_mode"} {
		rows, err := query(ctx, conn, "PRAGMA "+p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "pragma %s = %s\n", p, strings.Join(rows[0], " "))
	}

	objs, err := query(ctx, conn,
		"SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
	if err != nil {
		return "", err
	}
	var tables []string
	for _, o := range objs {
		fmt.Fprintf(&b, "object %s %s on %s\n", o[0], o[1], o[2])
		if o[3] != "NULL" {
			s, err := strconv.Unquote(o[3])
			if err != nil {
				return "", fmt.Errorf("sql of %s: %w", o[1], err)
			}
			fmt.Fprintf(&b, "  sql %s\n", NormalizeSQL(s))
		}
		if o[0] == `"table"` {
			name, _ := strconv.Unquote(o[1])
			tables = append(tables, name)
		}
	}

	for _, t := range tables {
		fmt.Fprintf(&b, "table %s\n", t)
		cols, err := query(ctx, conn, "PRAGMA table_xinfo("+quoteIdent(t)+")")
		if err != nil {
			return "", err
		}
		for _, c := range cols {
			// cid name type notnull dflt_value pk hidden
			fmt.Fprintf(&b, "  column %s %s type=%s notnull=%s default=%s pk=%s hidden=%s\n",
				c[0], c[1], c[2], c[3], c[4], c[5], c[6])
		}

		idx, err := query(ctx, conn, "PRAGMA index_list("+quoteIdent(t)+")")
		if err != nil {
			return "", err
		}
		sort.Slice(idx, func(i, j int) bool { return idx[i][1] < idx[j][1] })
		for _, ix := range idx {
			// seq name unique origin partial
			fmt.Fprintf(&b, "  index %s unique=%s origin=%s partial=%s\n", ix[1], ix[2], ix[3], ix[4])
			name, _ := strconv.Unquote(ix[1])
			keys, err := query(ctx, conn, "PRAGMA index_xinfo("+quoteIdent(name)+")")
			if err != nil {
				return "", err
			}
			for _, k := range keys {
				// seqno cid name desc coll key
				fmt.Fprintf(&b, "    column %s cid=%s %s desc=%s coll=%s key=%s\n",
					k[0], k[1], k[2], k[3], k[4], k[5])
			}
		}

		fks, err := query(ctx, conn, "PRAGMA foreign_key_list("+quoteIdent(t)+")")
		if err != nil {
			return "", err
		}
		// id seq table from to on_update on_delete match; rows of one id are
		// in seq order.
		byID := map[string][]string{}
		var ids []string
		for _, f := range fks {
			if _, ok := byID[f[0]]; !ok {
				ids = append(ids, f[0])
				byID[f[0]] = []string{fmt.Sprintf("-> %s on_update=%s on_delete=%s match=%s:",
					f[2], f[5], f[6], f[7])}
			}
			byID[f[0]] = append(byID[f[0]], fmt.Sprintf("%s=%s", f[3], f[4]))
		}
		var fkLines []string
		for _, id := range ids {
			fkLines = append(fkLines, "  fk "+strings.Join(byID[id], " "))
		}
		sort.Strings(fkLines)
		for _, l := range fkLines {
			b.WriteString(l + "\n")
		}

		if opts.NoRows {
			continue
		}
		masked := map[int]bool{}
		for _, m := range opts.Mask[t] {
			for i, c := range cols {
				if n, _ := strconv.Unquote(c[1]); n == m {
					masked[i] = true
				}
			}
		}
		rows, err := query(ctx, conn, "SELECT * FROM "+quoteIdent(t))
		if err != nil {
			return "", err
		}
		var lines []string
		for _, r := range rows {
			for i := range r {
				if masked[i] && r[i] != "NULL" {
					r[i] = "<masked>"
				}
			}
			lines = append(lines, "  row ("+strings.Join(r, ", ")+")")
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String(), nil
}

// query runs q and renders every value: NULL, integers and floats as Go
// prints them, text as a Go-quoted string, blobs as x'..'.
func query(ctx context.Context, conn *sql.Conn, q string) ([][]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			rec[i] = render(v)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	return out, nil
}

func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(v)
	case []byte:
		return fmt.Sprintf("x'%x'", v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64) + "(real)"
	default:
		return fmt.Sprint(v)
	}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// NormalizeSQL returns a canonical form of a sqlite_master SQL text:
// whitespace outside quotes is collapsed to single spaces and, for CREATE
// TABLE, the table constraints (items of the column list that start with
// CONSTRAINT, PRIMARY, UNIQUE, CHECK or FOREIGN) are sorted and placed after
// the column definitions, whose order is kept.
func NormalizeSQL(s string) string {
	s = collapseSpace(s)
	if !strings.HasPrefix(strings.ToUpper(s), "CREATE TABLE") {
		return s
	}
	open := indexOutsideQuotes(s, '(')
	if open < 0 {
		return s
	}
	closing := matchingParen(s, open)
	if closing < 0 {
		return s
	}
	var cols, cons []string
	for _, item := range splitTopLevel(s[open+1 : closing]) {
		item = strings.TrimSpace(item)
		first, _, _ := strings.Cut(item, " ")
		first, _, _ = strings.Cut(first, "(")
		switch strings.ToUpper(first) {
		case "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN":
			cons = append(cons, item)
		default:
			cols = append(cols, item)
		}
	}
	sort.Strings(cons)
	return strings.TrimSpace(s[:open]) + " (" + strings.Join(append(cols, cons...), ", ") + ")" +
		s[closing+1:]
}

// quoteEnd returns, when s[i] opens a quoted string or identifier ('...',
// "...", `...`, [...]) or a comment, the index just past its end (len(s) if
// it is not closed); otherwise it returns i. A doubled quote inside a string
// reads as two adjacent quoted runs, which is equivalent here.
func quoteEnd(s string, i int) int {
	var end string
	switch {
	case s[i] == '\'':
		end = "'"
	case s[i] == '"':
		end = `"`
	case s[i] == '`':
		end = "`"
	case s[i] == '[':
		end = "]"
	case strings.HasPrefix(s[i:], "--"):
		end = "\n"
	case strings.HasPrefix(s[i:], "/*"):
		end = "*/"
	default:
		return i
	}
	j := strings.Index(s[i+1:], end)
	if j < 0 {
		return len(s)
	}
	return i + 1 + j + len(end)
}

// scan calls f for every byte of s outside quoted runs and comments; f
// returns false to stop.
func scan(s string, f func(i int) bool) {
	for i := 0; i < len(s); {
		if e := quoteEnd(s, i); e > i {
			i = e
			continue
		}
		if !f(i) {
			return
		}
		i++
	}
}

func indexOutsideQuotes(s string, c byte) int {
	at := -1
	scan(s, func(i int) bool {
		if s[i] == c {
			at = i
			return false
		}
		return true
	})
	return at
}

func matchingParen(s string, open int) int {
	depth, at := 0, -1
	scan(s, func(i int) bool {
		if i < open {
			return true
		}
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				at = i
				return false
			}
		}
		return true
	})
	return at
}

func splitTopLevel(body string) []string {
	var items []string
	depth, start := 0, 0
	scan(body, func(i int) bool {
		switch body[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, body[start:i])
				start = i + 1
			}
		}
		return true
	})
	return append(items, body[start:])
}

func collapseSpace(s string) string {
	var b strings.Builder
	pending := false
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			pending = true
			i++
			continue
		}
		if pending && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pending = false
		e := quoteEnd(s, i)
		if e == i {
			e = i + 1
		}
		b.WriteString(s[i:e])
		i = e
	}
	return b.String()
}

// Column is a column of a CREATE TABLE statement.
type Column struct {
	Name string // unquoted
	Type string // declared type as written, e.g. "VARCHAR(256)"; "" if none
}

// Columns returns the columns of a CREATE TABLE statement (as SQLite keeps
// it in sqlite_master, columns added by ALTER TABLE included), in order, or
// nil for another statement.
func Columns(createTable string) []Column {
	s := collapseSpace(createTable)
	if !strings.HasPrefix(strings.ToUpper(s), "CREATE TABLE") {
		return nil
	}
	open := indexOutsideQuotes(s, '(')
	if open < 0 {
		return nil
	}
	closing := matchingParen(s, open)
	if closing < 0 {
		return nil
	}
	var out []Column
	for _, item := range splitTopLevel(s[open+1 : closing]) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		first, _, _ := strings.Cut(item, " ")
		first, _, _ = strings.Cut(first, "(")
		switch strings.ToUpper(first) {
		case "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN":
			continue
		}
		end := quoteEnd(item, 0)
		for end > 0 && end < len(item) && item[end] == item[0] && item[0] != '[' {
			end = quoteEnd(item, end) // a doubled quote inside the name
		}
		if end == 0 {
			end = strings.IndexByte(item, ' ')
			if end < 0 {
				end = len(item)
			}
		}
		name := item[:end]
		if len(name) >= 2 && strings.ContainsRune(`"'`+"`", rune(name[0])) {
			name = strings.ReplaceAll(name[1:len(name)-1], name[:1]+name[:1], name[:1])
		} else if len(name) >= 2 && name[0] == '[' {
			name = name[1 : len(name)-1]
		}
		// The type is every word up to the first constraint keyword; a
		// parenthesised size belongs to it.
		var typ []string
		rest := strings.TrimSpace(item[end:])
	words:
		for rest != "" {
			w, tail, _ := strings.Cut(rest, " ")
			if p := strings.IndexByte(w, '('); p >= 0 {
				// "VARCHAR(256)" or "NUMERIC(10," + " 2)": up to the closing paren.
				if c := matchingParen(rest, p); c >= 0 {
					w, tail = rest[:c+1], rest[c+1:]
				}
			}
			switch strings.ToUpper(strings.TrimRight(w, ",")) {
			case "NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "COLLATE",
				"CONSTRAINT", "GENERATED", "AS":
				break words
			}
			typ = append(typ, w)
			rest = strings.TrimSpace(tail)
		}
		out = append(out, Column{Name: name, Type: strings.Join(typ, " ")})
	}
	return out
}
