package pysql

// This file ports the lexer of sqlparse 0.6.1 (sqlparse/lexer.py and the
// SQL_REGEX table in sqlparse/keywords.py), which MLflow uses to tokenise
// filter and order_by strings. Each rule of SQL_REGEX is a hand-written
// matcher that explores the same alternatives in the same order as Python's
// backtracking regex engine, so the token stream is the one MLflow sees.

import (
	"sort"
	"strings"
)

// ttype is a sqlparse token type, written as its dotted path without the
// leading "Token." ("Keyword.DML", "Literal.String.Single"). The empty ttype
// is a group (sqlparse's TokenList, whose ttype is None).
type ttype string

// Token types used by the lexer, the keyword table and the grouping code.
const (
	ttNone              ttype = ""
	ttText              ttype = "Text"
	ttWhitespace        ttype = "Text.Whitespace"
	ttNewline           ttype = "Text.Whitespace.Newline"
	ttError             ttype = "Error"
	ttKeyword           ttype = "Keyword"
	ttKeywordDML        ttype = "Keyword.DML"
	ttKeywordDDL        ttype = "Keyword.DDL"
	ttKeywordDCL        ttype = "Keyword.DCL"
	ttKeywordCTE        ttype = "Keyword.CTE"
	ttKeywordOrder      ttype = "Keyword.Order"
	ttKeywordTZCast     ttype = "Keyword.TZCast"
	ttName              ttype = "Name"
	ttNameBuiltin       ttype = "Name.Builtin"
	ttNamePlaceholder   ttype = "Name.Placeholder"
	ttLiteral           ttype = "Literal"
	ttString            ttype = "Literal.String"
	ttStringSingle      ttype = "Literal.String.Single"
	ttStringSymbol      ttype = "Literal.String.Symbol"
	ttNumber            ttype = "Literal.Number"
	ttNumberInteger     ttype = "Literal.Number.Integer"
	ttNumberFloat       ttype = "Literal.Number.Float"
	ttNumberHex         ttype = "Literal.Number.Hexadecimal"
	ttPunctuation       ttype = "Punctuation"
	ttOperator          ttype = "Operator"
	ttComparison        ttype = "Operator.Comparison"
	ttWildcard          ttype = "Wildcard"
	ttComment           ttype = "Comment"
	ttCommentSingle     ttype = "Comment.Single"
	ttCommentSingleHint ttype = "Comment.Single.Hint"
	ttCommentMultiline  ttype = "Comment.Multiline"
	ttCommentMultiHint  ttype = "Comment.Multiline.Hint"
	ttAssignment        ttype = "Assignment"
	ttCommand           ttype = "Generic.Command"
)

// in reports whether t is parent or one of its subtypes, as sqlparse's
// `t in parent` does for a single token type.
func (t ttype) in(parent ttype) bool {
	if t == ttNone {
		return false
	}
	if parent == ttNone {
		return true
	}
	return t == parent || strings.HasPrefix(string(t), string(parent)+".")
}

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

func inRanges(r rune, rs []runeRange) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

// Python's character classes, from the generated tables.
func isWord(r rune) bool {
	if r < 0x80 {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return inRanges(r, pyWordRanges)
}

func isSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || '\t' <= r && r <= '\r' || 0x1c <= r && r <= 0x1f
	}
	return inRanges(r, pySpaceRanges)
}

func isDigit(r rune) bool {
	if r < 0x80 {
		return '0' <= r && r <= '9'
	}
	return inRanges(r, pyDigitRanges)
}

// isLetter is sqlparse's [A-ZÀ-Ü] with re.IGNORECASE.
func isLetter(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return inRanges(r, sqlLetterRanges)
}

// pyUpper is Python's str.upper.
func pyUpper(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		if u, ok := pyUpperTable[r]; ok {
			b.WriteString(u)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lexToken is one token of the lexer's output.
type lexToken struct {
	typ ttype
	val string
}

// lexer holds the text as runes; positions are rune indexes, as in Python.
type lexer struct {
	s []rune
}

func (l *lexer) at(i int) rune {
	if i < 0 || i >= len(l.s) {
		return -1
	}
	return l.s[i]
}

// wordBoundary is Python's \b at position i.
func (l *lexer) wordBoundary(i int) bool {
	a := i > 0 && isWord(l.s[i-1])
	b := i < len(l.s) && isWord(l.s[i])
	return a != b
}

// word matches the case-insensitive ASCII word w at i and returns the end.
func (l *lexer) word(i int, w string) (int, bool) {
	for k := 0; k < len(w); k++ {
		r := l.at(i + k)
		if r < 0 || r >= 0x80 {
			// Python's IGNORECASE also folds a few non-ASCII letters onto
			// ASCII ones (ſ, K); they match like their ASCII forms.
			if !foldsTo(r, w[k]) {
				return 0, false
			}
			continue
		}
		if toLowerASCII(byte(r)) != toLowerASCII(w[k]) {
			return 0, false
		}
	}
	return i + len(w), true
}

func foldsTo(r rune, c byte) bool {
	switch r {
	case 0x17F: // ſ
		return c == 's' || c == 'S'
	case 0x212A: // Kelvin sign
		return c == 'k' || c == 'K'
	case 0x130, 0x131: // İ and ı
		return c == 'i' || c == 'I'
	}
	return false
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// spaces matches \s+ (greedy) at i; ok is false if there is none.
func (l *lexer) spaces(i int) (int, bool) {
	j := i
	for j < len(l.s) && isSpace(l.s[j]) {
		j++
	}
	return j, j > i
}

// words matches a sequence of case-insensitive words separated by \s+,
// followed by \b, as in `GROUP\s+BY\b`.
func (l *lexer) words(i int, ws ...string) (int, bool) {
	j := i
	for k, w := range ws {
		if k > 0 {
			var ok bool
			if j, ok = l.spaces(j); !ok {
				return 0, false
			}
		}
		var ok bool
		if j, ok = l.word(j, w); !ok {
			return 0, false
		}
	}
	if !l.wordBoundary(j) {
		return 0, false
	}
	return j, true
}

// delimSpans ports sqlparse's find_delimited_spans: the openers of
// dollar-quoted literals and /* */ comments, paired with their closers when
// the lexer reaches them.
type delimSpans struct {
	openers map[int]delimOpener
	closers map[string][][2]int // tag -> (start, end), ascending
}

type delimOpener struct {
	end int
	tag string
	typ ttype
}

func (l *lexer) findDelimitedSpans() *delimSpans {
	hasDollar, hasComment := false, false
	for i, r := range l.s {
		if r == '$' {
			hasDollar = true
		}
		if r == '/' && l.at(i+1) == '*' {
			hasComment = true
		}
	}
	if !hasDollar && !hasComment {
		return nil
	}
	ds := &delimSpans{openers: map[int]delimOpener{}, closers: map[string][][2]int{}}
	if hasDollar {
		for i, r := range l.s {
			if r != '$' {
				continue
			}
			// (\$(?:[_A-ZÀ-Ü]\w*)?\$)
			end := -1
			if c := l.at(i + 1); c == '_' || isLetter(c) {
				j := i + 2
				for j < len(l.s) && isWord(l.s[j]) {
					j++
				}
				if l.at(j) == '$' {
					end = j + 1
				}
			}
			if end < 0 && l.at(i+1) == '$' {
				end = i + 2
			}
			if end < 0 {
				continue
			}
			tag := string(l.s[i:end])
			ds.closers[tag] = append(ds.closers[tag], [2]int{i, end})
			prev := l.at(i - 1)
			if i == 0 || !(isWord(prev) || prev == '"' || prev == '$') {
				ds.openers[i] = delimOpener{end, tag, ttLiteral}
			}
		}
	}
	if hasComment {
		for i := 0; i+1 < len(l.s); i++ {
			if l.s[i] == '/' && l.s[i+1] == '*' {
				if l.at(i+2) == '+' {
					ds.openers[i] = delimOpener{i + 3, "/*", ttCommentMultiHint}
				} else {
					ds.openers[i] = delimOpener{i + 2, "/*", ttCommentMultiline}
				}
				i++ // finditer does not overlap
			}
		}
		for i := 0; i+1 < len(l.s); i++ {
			if l.s[i] == '*' && l.s[i+1] == '/' {
				ds.closers["/*"] = append(ds.closers["/*"], [2]int{i, i + 2})
				i++
			}
		}
	}
	return ds
}

func (ds *delimSpans) resolve(pos int) (int, ttype, bool) {
	op, ok := ds.openers[pos]
	if !ok {
		return 0, "", false
	}
	cl := ds.closers[op.tag]
	idx := sort.Search(len(cl), func(i int) bool { return cl[i][0] >= op.end })
	if idx == len(cl) {
		return 0, "", false
	}
	return cl[idx][1], op.typ, true
}

// tokenize returns sqlparse's token stream for s.
func tokenize(s string) []lexToken {
	l := &lexer{s: []rune(s)}
	spans := l.findDelimitedSpans()
	var out []lexToken
	for pos := 0; pos < len(l.s); {
		if spans != nil {
			if end, typ, ok := spans.resolve(pos); ok {
				out = append(out, lexToken{typ, string(l.s[pos:end])})
				pos = end
				continue
			}
		}
		typ, end := l.next(pos)
		out = append(out, lexToken{typ, string(l.s[pos:end])})
		pos = end
	}
	return out
}

// next applies the rules of SQL_REGEX in order at pos and returns the token
// type and the end of the first rule that matches.
func (l *lexer) next(pos int) (ttype, int) {
	for _, rule := range lexRules {
		if typ, end, ok := rule(l, pos); ok {
			if typ == ttProcessAsKeyword {
				w := string(l.s[pos:end])
				if kt, ok := sqlKeywords[pyUpper(w)]; ok {
					return kt, end
				}
				return ttName, end
			}
			return typ, end
		}
	}
	return ttError, pos + 1
}

// ttProcessAsKeyword marks the rule whose match is looked up in the keyword
// table (sqlparse's PROCESS_AS_KEYWORD).
const ttProcessAsKeyword ttype = "\x00keyword"

type lexRule func(l *lexer, i int) (ttype, int, bool)

// lineEnd finds the end of a single-line comment body starting at i:
// `.*?(\r\n|\r|\n|$)`.
func (l *lexer) lineEnd(i int) int {
	for j := i; j < len(l.s); j++ {
		switch l.s[j] {
		case '\r':
			if l.at(j+1) == '\n' {
				return j + 2
			}
			return j + 1
		case '\n':
			return j + 1
		}
	}
	return len(l.s)
}

// quoted matches q(qq|\\q|[^q])*q with Python's backtracking order and
// returns the end, for the single-quoted and double-quoted string rules and
// (with backslash false) the backtick and acute-accent name rules.
func (l *lexer) quoted(i int, q rune, backslash bool) (int, bool) {
	if l.at(i) != q {
		return 0, false
	}
	n := len(l.s)
	// failed[p] records that no match can be completed from body position p.
	failed := map[int]bool{}
	var try func(p int) (int, bool)
	try = func(p int) (int, bool) {
		if failed[p] {
			return 0, false
		}
		// Greedy: one more iteration first, alternatives in order.
		if p+1 < n && l.s[p] == q && l.s[p+1] == q {
			if e, ok := try(p + 2); ok {
				return e, true
			}
		}
		if backslash && p+1 < n && l.s[p] == '\\' && l.s[p+1] == q {
			if e, ok := try(p + 2); ok {
				return e, true
			}
		}
		if p < n && l.s[p] != q {
			if e, ok := try(p + 1); ok {
				return e, true
			}
		}
		if p < n && l.s[p] == q {
			return p + 1, true
		}
		failed[p] = true
		return 0, false
	}
	// Iterate over runs of ordinary characters without recursing on each.
	return l.quotedFast(i, q, backslash, try)
}

// quotedFast handles the common case (no doubled quotes or escapes before
// the closing quote) without recursion, and falls back to the exact search.
func (l *lexer) quotedFast(i int, q rune, backslash bool, exact func(int) (int, bool)) (int, bool) {
	for j := i + 1; j < len(l.s); j++ {
		r := l.s[j]
		if r == q {
			if l.at(j+1) == q {
				break // a doubled quote: use the exact search
			}
			return j + 1, true
		}
		if backslash && r == '\\' {
			break
		}
	}
	return exact(i + 1)
}

var lexRules = []lexRule{
	// (--|# )\+.*?(\r\n|\r|\n|$)
	func(l *lexer, i int) (ttype, int, bool) {
		if (l.at(i) == '-' && l.at(i+1) == '-' || l.at(i) == '#' && l.at(i+1) == ' ') && l.at(i+2) == '+' {
			return ttCommentSingleHint, l.lineEnd(i + 3), true
		}
		return "", 0, false
	},
	// (--|# ).*?(\r\n|\r|\n|$)
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) == '-' && l.at(i+1) == '-' || l.at(i) == '#' && l.at(i+1) == ' ' {
			return ttCommentSingle, l.lineEnd(i + 2), true
		}
		return "", 0, false
	},
	// (\r\n|\r|\n)
	func(l *lexer, i int) (ttype, int, bool) {
		switch l.at(i) {
		case '\r':
			if l.at(i+1) == '\n' {
				return ttNewline, i + 2, true
			}
			return ttNewline, i + 1, true
		case '\n':
			return ttNewline, i + 1, true
		}
		return "", 0, false
	},
	// \s+?
	func(l *lexer, i int) (ttype, int, bool) {
		if r := l.at(i); r >= 0 && isSpace(r) {
			return ttWhitespace, i + 1, true
		}
		return "", 0, false
	},
	// :=
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) == ':' && l.at(i+1) == '=' {
			return ttAssignment, i + 2, true
		}
		return "", 0, false
	},
	// ::
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) == ':' && l.at(i+1) == ':' {
			return ttPunctuation, i + 2, true
		}
		return "", 0, false
	},
	// \*
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) == '*' {
			return ttWildcard, i + 1, true
		}
		return "", 0, false
	},
	// `(``|[^`])*`
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.quoted(i, '`', false); ok {
			return ttName, e, true
		}
		return "", 0, false
	},
	// ´(´´|[^´])*´
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.quoted(i, '´', false); ok {
			return ttName, e, true
		}
		return "", 0, false
	},
	// \?
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) == '?' {
			return ttNamePlaceholder, i + 1, true
		}
		return "", 0, false
	},
	// %(\(\w+\))?s
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) != '%' {
			return "", 0, false
		}
		if l.at(i+1) == '(' {
			j := i + 2
			for j < len(l.s) && isWord(l.s[j]) {
				j++
			}
			if j > i+2 && l.at(j) == ')' && isS(l.at(j+1)) {
				return ttNamePlaceholder, j + 2, true
			}
		}
		if isS(l.at(i + 1)) {
			return ttNamePlaceholder, i + 2, true
		}
		return "", 0, false
	},
	// (?<!\w)[$:?]\w+
	func(l *lexer, i int) (ttype, int, bool) {
		if i > 0 && isWord(l.s[i-1]) {
			return "", 0, false
		}
		if r := l.at(i); r != '$' && r != ':' && r != '?' {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && isWord(l.s[j]) {
			j++
		}
		if j > i+1 {
			return ttNamePlaceholder, j, true
		}
		return "", 0, false
	},
	// \\\w+
	func(l *lexer, i int) (ttype, int, bool) {
		if l.at(i) != '\\' {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && isWord(l.s[j]) {
			j++
		}
		if j > i+1 {
			return ttCommand, j, true
		}
		return "", 0, false
	},
	// (CASE|IN|VALUES|USING|FROM|AS)\b
	func(l *lexer, i int) (ttype, int, bool) {
		for _, w := range []string{"CASE", "IN", "VALUES", "USING", "FROM", "AS"} {
			if e, ok := l.word(i, w); ok && l.wordBoundary(e) {
				return ttKeyword, e, true
			}
		}
		return "", 0, false
	},
	// (@|##|#)[A-ZÀ-Ü]\w+
	func(l *lexer, i int) (ttype, int, bool) {
		var starts []int
		switch {
		case l.at(i) == '@':
			starts = []int{i + 1}
		case l.at(i) == '#' && l.at(i+1) == '#':
			starts = []int{i + 2, i + 1}
		case l.at(i) == '#':
			starts = []int{i + 1}
		}
		for _, j := range starts {
			if r := l.at(j); r >= 0 && isLetter(r) {
				k := j + 1
				for k < len(l.s) && isWord(l.s[k]) {
					k++
				}
				if k > j+1 {
					return ttName, k, true
				}
			}
		}
		return "", 0, false
	},
	// [A-ZÀ-Ü]\w*(?=\s*\.(?!\d))
	func(l *lexer, i int) (ttype, int, bool) {
		if r := l.at(i); r < 0 || !isLetter(r) {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && isWord(l.s[j]) {
			j++
		}
		k := j
		for k < len(l.s) && isSpace(l.s[k]) {
			k++
		}
		if l.at(k) == '.' {
			if r := l.at(k + 1); r < 0 || !isDigit(r) {
				return ttName, j, true
			}
		}
		return "", 0, false
	},
	// (?<=\.)[A-ZÀ-Ü]\w*
	func(l *lexer, i int) (ttype, int, bool) {
		if i == 0 || l.s[i-1] != '.' {
			return "", 0, false
		}
		if r := l.at(i); r < 0 || !isLetter(r) {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && isWord(l.s[j]) {
			j++
		}
		return ttName, j, true
	},
	// [A-ZÀ-Ü]\w*(?=\()
	func(l *lexer, i int) (ttype, int, bool) {
		if r := l.at(i); r < 0 || !isLetter(r) {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && isWord(l.s[j]) {
			j++
		}
		if l.at(j) == '(' {
			return ttName, j, true
		}
		return "", 0, false
	},
	// -?0x[\dA-F]+
	func(l *lexer, i int) (ttype, int, bool) {
		j := i
		if l.at(j) == '-' {
			j++
		}
		if l.at(j) != '0' || (l.at(j+1) != 'x' && l.at(j+1) != 'X') {
			return "", 0, false
		}
		k := j + 2
		for k < len(l.s) && (isDigit(l.s[k]) || isHexLetter(l.s[k])) {
			k++
		}
		if k > j+2 {
			return ttNumberHex, k, true
		}
		return "", 0, false
	},
	// -?\d+(\.\d+)?E-?\d+
	func(l *lexer, i int) (ttype, int, bool) {
		j := i
		if l.at(j) == '-' {
			j++
		}
		k := l.digits(j)
		if k == j {
			return "", 0, false
		}
		try := func(m int) (int, bool) {
			if r := l.at(m); r != 'e' && r != 'E' {
				return 0, false
			}
			m++
			if l.at(m) == '-' {
				if e := l.digits(m + 1); e > m+1 {
					return e, true
				}
			}
			if e := l.digits(m); e > m {
				return e, true
			}
			return 0, false
		}
		if l.at(k) == '.' {
			if f := l.digits(k + 1); f > k+1 {
				if e, ok := try(f); ok {
					return ttNumberFloat, e, true
				}
			}
		}
		if e, ok := try(k); ok {
			return ttNumberFloat, e, true
		}
		return "", 0, false
	},
	// (?![_A-ZÀ-Ü])-?(\d+(\.\d*)|\.\d+)(?![_A-ZÀ-Ü])
	func(l *lexer, i int) (ttype, int, bool) {
		if l.notLetterAhead(i) {
			return "", 0, false
		}
		j := i
		if l.at(j) == '-' {
			j++
		}
		if k := l.digits(j); k > j && l.at(k) == '.' {
			for e := l.digits(k + 1); e >= k+1; e-- {
				if !l.notLetterAhead(e) {
					return ttNumberFloat, e, true
				}
			}
		}
		if l.at(j) == '.' {
			for e := l.digits(j + 1); e > j+1; e-- {
				if !l.notLetterAhead(e) {
					return ttNumberFloat, e, true
				}
			}
		}
		return "", 0, false
	},
	// (?![_A-ZÀ-Ü])-?\d+(?![_A-ZÀ-Ü])
	func(l *lexer, i int) (ttype, int, bool) {
		if l.notLetterAhead(i) {
			return "", 0, false
		}
		j := i
		if l.at(j) == '-' {
			j++
		}
		for e := l.digits(j); e > j; e-- {
			if !l.notLetterAhead(e) {
				return ttNumberInteger, e, true
			}
		}
		return "", 0, false
	},
	// '(''|\\'|[^'])*'
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.quoted(i, '\'', true); ok {
			return ttStringSingle, e, true
		}
		return "", 0, false
	},
	// "(""|\\"|[^"])*"   (the next rule, (""|".*?[^\\]"), can never match
	// where this one failed)
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.quoted(i, '"', true); ok {
			return ttStringSymbol, e, true
		}
		return "", 0, false
	},
	// (?<![\w\])])(\[[^\]\[]+\])
	func(l *lexer, i int) (ttype, int, bool) {
		if i > 0 {
			if p := l.s[i-1]; isWord(p) || p == ']' || p == ')' {
				return "", 0, false
			}
		}
		if l.at(i) != '[' {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && l.s[j] != ']' && l.s[j] != '[' {
			j++
		}
		if j > i+1 && l.at(j) == ']' {
			return ttName, j + 1, true
		}
		return "", 0, false
	},
	// ((LEFT\s+|RIGHT\s+|FULL\s+)?(INNER\s+|OUTER\s+|STRAIGHT\s+)?|(CROSS\s+|NATURAL\s+)?)?JOIN\b
	func(l *lexer, i int) (ttype, int, bool) {
		wordSp := func(p int, ws ...string) []int {
			var out []int
			for _, w := range ws {
				if e, ok := l.word(p, w); ok {
					if e2, ok := l.spaces(e); ok {
						out = append(out, e2)
					}
				}
			}
			return out
		}
		join := func(p int) (int, bool) {
			if e, ok := l.word(p, "JOIN"); ok && l.wordBoundary(e) {
				return e, true
			}
			return 0, false
		}
		// first alternative of the outer group
		for _, a := range append(wordSp(i, "LEFT", "RIGHT", "FULL"), i) {
			for _, b := range append(wordSp(a, "INNER", "OUTER", "STRAIGHT"), a) {
				if e, ok := join(b); ok {
					return ttKeyword, e, true
				}
			}
		}
		for _, a := range append(wordSp(i, "CROSS", "NATURAL"), i) {
			if e, ok := join(a); ok {
				return ttKeyword, e, true
			}
		}
		return "", 0, false
	},
	// END(\s+IF|\s+LOOP|\s+WHILE|\s+FOR|\s+CASE)?\b
	func(l *lexer, i int) (ttype, int, bool) {
		e, ok := l.word(i, "END")
		if !ok {
			return "", 0, false
		}
		if s, ok := l.spaces(e); ok {
			for _, w := range []string{"IF", "LOOP", "WHILE", "FOR", "CASE"} {
				if e2, ok := l.word(s, w); ok && l.wordBoundary(e2) {
					return ttKeyword, e2, true
				}
			}
		}
		if l.wordBoundary(e) {
			return ttKeyword, e, true
		}
		return "", 0, false
	},
	// IF\s+(NOT\s+)?EXISTS\b
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.words(i, "IF", "NOT", "EXISTS"); ok {
			return ttKeyword, e, true
		}
		if e, ok := l.words(i, "IF", "EXISTS"); ok {
			return ttKeyword, e, true
		}
		return "", 0, false
	},
	// NOT\s+NULL\b
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.words(i, "NOT", "NULL"); ok {
			return ttKeyword, e, true
		}
		return "", 0, false
	},
	// (ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?\b and (ASC|DESC)\b
	func(l *lexer, i int) (ttype, int, bool) {
		for _, w := range []string{"ASC", "DESC"} {
			e, ok := l.word(i, w)
			if !ok {
				continue
			}
			if s, ok := l.spaces(e); ok {
				for _, fl := range []string{"FIRST", "LAST"} {
					if e2, ok := l.words(s, "NULLS", fl); ok {
						return ttKeywordOrder, e2, true
					}
				}
			}
			if l.wordBoundary(e) {
				return ttKeywordOrder, e, true
			}
		}
		return "", 0, false
	},
	// NULLS\s+(FIRST|LAST)\b
	func(l *lexer, i int) (ttype, int, bool) {
		for _, fl := range []string{"FIRST", "LAST"} {
			if e, ok := l.words(i, "NULLS", fl); ok {
				return ttKeywordOrder, e, true
			}
		}
		return "", 0, false
	},
	// UNION\s+ALL\b
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.words(i, "UNION", "ALL"); ok {
			return ttKeyword, e, true
		}
		return "", 0, false
	},
	// CREATE(\s+OR\s+REPLACE)?\b
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.words(i, "CREATE", "OR", "REPLACE"); ok {
			return ttKeywordDDL, e, true
		}
		if e, ok := l.words(i, "CREATE"); ok {
			return ttKeywordDDL, e, true
		}
		return "", 0, false
	},
	// DOUBLE\s+PRECISION\b
	func(l *lexer, i int) (ttype, int, bool) {
		if e, ok := l.words(i, "DOUBLE", "PRECISION"); ok {
			return ttNameBuiltin, e, true
		}
		return "", 0, false
	},
	// GROUP\s+BY\b, ORDER\s+BY\b, PRIMARY\s+KEY\b, HANDLER\s+FOR\b
	func(l *lexer, i int) (ttype, int, bool) {
		for _, p := range [][2]string{{"GROUP", "BY"}, {"ORDER", "BY"}, {"PRIMARY", "KEY"}, {"HANDLER", "FOR"}} {
			if e, ok := l.words(i, p[0], p[1]); ok {
				return ttKeyword, e, true
			}
		}
		return "", 0, false
	},
	// GO(\s\d+)\b
	func(l *lexer, i int) (ttype, int, bool) {
		e, ok := l.word(i, "GO")
		if !ok {
			return "", 0, false
		}
		if r := l.at(e); r < 0 || !isSpace(r) {
			return "", 0, false
		}
		for d := l.digits(e + 1); d > e+1; d-- {
			if l.wordBoundary(d) {
				return ttKeyword, d, true
			}
		}
		return "", 0, false
	},
	// (LATERAL\s+VIEW\s+)(EXPLODE|INLINE|PARSE_URL_TUPLE|POSEXPLODE|STACK)\b
	func(l *lexer, i int) (ttype, int, bool) {
		for _, w := range []string{"EXPLODE", "INLINE", "PARSE_URL_TUPLE", "POSEXPLODE", "STACK"} {
			if e, ok := l.words(i, "LATERAL", "VIEW", w); ok {
				return ttKeyword, e, true
			}
		}
		return "", 0, false
	},
	// (AT|WITH')\s+TIME\s+ZONE\s+'[^']+'
	func(l *lexer, i int) (ttype, int, bool) {
		var e int
		var ok bool
		if e, ok = l.word(i, "AT"); !ok {
			if e, ok = l.word(i, "WITH'"); !ok {
				return "", 0, false
			}
		}
		for _, w := range []string{"TIME", "ZONE"} {
			if e, ok = l.spaces(e); !ok {
				return "", 0, false
			}
			if e, ok = l.word(e, w); !ok {
				return "", 0, false
			}
		}
		if e, ok = l.spaces(e); !ok || l.at(e) != '\'' {
			return "", 0, false
		}
		j := e + 1
		for j < len(l.s) && l.s[j] != '\'' {
			j++
		}
		if j > e+1 && l.at(j) == '\'' {
			return ttKeywordTZCast, j + 1, true
		}
		return "", 0, false
	},
	// (NOT\s+)?(LIKE|ILIKE|RLIKE)\b
	func(l *lexer, i int) (ttype, int, bool) {
		starts := []int{}
		if e, ok := l.word(i, "NOT"); ok {
			if s, ok := l.spaces(e); ok {
				starts = append(starts, s)
			}
		}
		starts = append(starts, i)
		for _, s := range starts {
			for _, w := range []string{"LIKE", "ILIKE", "RLIKE"} {
				if e, ok := l.word(s, w); ok && l.wordBoundary(e) {
					return ttComparison, e, true
				}
			}
		}
		return "", 0, false
	},
	// (NOT\s+)?(REGEXP)(\s+(BINARY))?\b
	func(l *lexer, i int) (ttype, int, bool) {
		starts := []int{}
		if e, ok := l.word(i, "NOT"); ok {
			if s, ok := l.spaces(e); ok {
				starts = append(starts, s)
			}
		}
		starts = append(starts, i)
		for _, s := range starts {
			e, ok := l.word(s, "REGEXP")
			if !ok {
				continue
			}
			if sp, ok := l.spaces(e); ok {
				if e2, ok := l.word(sp, "BINARY"); ok && l.wordBoundary(e2) {
					return ttComparison, e2, true
				}
			}
			if l.wordBoundary(e) {
				return ttComparison, e, true
			}
		}
		return "", 0, false
	},
	// \w[$#\w]*
	func(l *lexer, i int) (ttype, int, bool) {
		if r := l.at(i); r < 0 || !isWord(r) {
			return "", 0, false
		}
		j := i + 1
		for j < len(l.s) && (isWord(l.s[j]) || l.s[j] == '$' || l.s[j] == '#') {
			j++
		}
		return ttProcessAsKeyword, j, true
	},
	// [;:()\[\],\.]
	func(l *lexer, i int) (ttype, int, bool) {
		switch l.at(i) {
		case ';', ':', '(', ')', '[', ']', ',', '.':
			return ttPunctuation, i + 1, true
		}
		return "", 0, false
	},
	// (\->>?|#>>?|@>|<@|\?\|?|\?&|\-|#\-)
	func(l *lexer, i int) (ttype, int, bool) {
		r, n := l.at(i), l.at(i+1)
		switch {
		case r == '-' && n == '>':
			if l.at(i+2) == '>' {
				return ttOperator, i + 3, true
			}
			return ttOperator, i + 2, true
		case r == '#' && n == '>':
			if l.at(i+2) == '>' {
				return ttOperator, i + 3, true
			}
			return ttOperator, i + 2, true
		case r == '@' && n == '>', r == '<' && n == '@':
			return ttOperator, i + 2, true
		case r == '?':
			if n == '|' {
				return ttOperator, i + 2, true
			}
			return ttOperator, i + 1, true
		case r == '-':
			return ttOperator, i + 1, true
		case r == '#' && n == '-':
			return ttOperator, i + 2, true
		}
		return "", 0, false
	},
	// [<>=~!]+
	func(l *lexer, i int) (ttype, int, bool) {
		j := i
		for j < len(l.s) && strings.ContainsRune("<>=~!", l.s[j]) {
			j++
		}
		if j > i {
			return ttComparison, j, true
		}
		return "", 0, false
	},
	// [+/@#%^&|^-]+
	func(l *lexer, i int) (ttype, int, bool) {
		j := i
		for j < len(l.s) && strings.ContainsRune("+/@#%^&|-", l.s[j]) {
			j++
		}
		if j > i {
			return ttOperator, j, true
		}
		return "", 0, false
	},
}

// isS matches the letter s under Python's IGNORECASE.
func isS(r rune) bool { return r == 's' || r == 'S' || r == 0x17F }

func isHexLetter(r rune) bool {
	return 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// digits returns the end of the run of \d at i.
func (l *lexer) digits(i int) int {
	for i < len(l.s) && isDigit(l.s[i]) {
		i++
	}
	return i
}

// notLetterAhead reports whether (?![_A-ZÀ-Ü]) fails at i, that is whether
// the character at i is an underscore or a letter.
func (l *lexer) notLetterAhead(i int) bool {
	r := l.at(i)
	return r == '_' || (r >= 0 && isLetter(r))
}
