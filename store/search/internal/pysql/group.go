package pysql

// This file ports sqlparse 0.6.1's statement splitter
// (engine/statement_splitter.py), its token lists (sql.py) and its grouping
// engine (engine/grouping.py). MLflow decides what a filter means, and which
// error it reports, from the groups sqlparse builds, so they are rebuilt
// here step by step.

import (
	"errors"
	"strings"
)

// class is the Python class of a token: a plain token or one of the group
// classes of sqlparse.sql.
type class uint8

const (
	clsToken class = iota
	clsTokenList
	clsStatement
	clsIdentifier
	clsIdentifierList
	clsTypedLiteral
	clsParenthesis
	clsSquareBrackets
	clsAssignment
	clsIf
	clsFor
	clsComparison
	clsComment
	clsWhere
	clsOver
	clsCase
	clsFunction
	clsBegin
	clsOperation
	clsValues
)

// node is a sqlparse Token or TokenList.
type node struct {
	cls    class
	typ    ttype // ttNone for groups
	val    string
	tokens []*node // children of a group
}

func newToken(typ ttype, val string) *node { return &node{cls: clsToken, typ: typ, val: val} }

func newGroup(cls class, tokens []*node) *node {
	return &node{cls: cls, tokens: tokens}
}

func (n *node) isGroup() bool      { return n.cls != clsToken }
func (n *node) isWhitespace() bool { return n.typ.in(ttWhitespace) }
func (n *node) isKeyword() bool    { return n.typ.in(ttKeyword) }

// normalized is the upper-cased value of a keyword, else the value.
func (n *node) normalized() string {
	if n.isKeyword() {
		return pyUpper(n.val)
	}
	return n.value()
}

// value is the token's text (for a group, the text of all its tokens).
func (n *node) value() string {
	if !n.isGroup() {
		return n.val
	}
	var b strings.Builder
	n.writeTo(&b)
	return b.String()
}

func (n *node) writeTo(b *strings.Builder) {
	if !n.isGroup() {
		b.WriteString(n.val)
		return
	}
	for _, t := range n.tokens {
		t.writeTo(b)
	}
}

// String returns the token's text, as str(token) does.
func (n *node) String() string { return n.value() }

// match ports Token.match(ttype, values): the type must be exactly typ, and
// if values are given the (normalized) value must be one of them.
func (n *node) match(typ ttype, values ...string) bool {
	if n.typ != typ || (n.isGroup() && typ != ttNone) {
		return false
	}
	if len(values) == 0 {
		return true
	}
	kw := n.isKeyword()
	norm := n.normalized()
	for _, v := range values {
		if kw {
			v = pyUpper(v)
		}
		if norm == v {
			return true
		}
	}
	return false
}

// pattern is a (ttype, values) pair for imt's m argument.
type pattern struct {
	typ    ttype
	values []string
}

// matcher is imt(token, i, m, t): classes (isinstance), patterns (match) and
// types. exactTypes are compared for equality (a tuple of types in Python),
// subTypes with their subtypes (a single type in Python).
type matcher struct {
	classes    []class
	patterns   []pattern
	exactTypes []ttype
	subTypes   []ttype
}

func (m matcher) ok(n *node) bool {
	if n == nil {
		return false
	}
	for _, c := range m.classes {
		if n.cls == c || (c == clsTokenList && n.isGroup()) {
			return true
		}
	}
	for _, p := range m.patterns {
		if n.match(p.typ, p.values...) {
			return true
		}
	}
	if !n.isGroup() {
		for _, t := range m.exactTypes {
			if n.typ == t {
				return true
			}
		}
		for _, t := range m.subTypes {
			if n.typ.in(t) {
				return true
			}
		}
	}
	return false
}

func (n *node) isComment() bool {
	return n.cls == clsComment || (!n.isGroup() && n.typ.in(ttComment))
}

// tokenMatching ports TokenList._token_matching for a forward search.
func (n *node) tokenMatching(f func(*node) bool, start int) (int, *node) {
	if start < 0 {
		start = 0
	}
	for i := start; i < len(n.tokens); i++ {
		if f(n.tokens[i]) {
			return i, n.tokens[i]
		}
	}
	return -1, nil
}

// tokenNextBy ports token_next_by(i, m, t, idx): the first token after idx
// that the matcher accepts.
func (n *node) tokenNextBy(m matcher, idx int) (int, *node) {
	return n.tokenMatching(m.ok, idx+1)
}

// tokenNext ports token_next(idx, skip_ws, skip_cm). idx -1 means None.
func (n *node) tokenNext(idx int, skipWS, skipCM bool) (int, *node) {
	if idx < 0 {
		return -1, nil
	}
	ok := func(t *node) bool {
		return !((skipWS && t.isWhitespace()) || (skipCM && t.isComment()))
	}
	return n.tokenMatching(ok, idx+1)
}

// tokenPrev ports token_prev(idx, skip_ws, skip_cm).
func (n *node) tokenPrev(idx int, skipWS bool) (int, *node) {
	if idx < 0 {
		return -1, nil
	}
	for i := idx - 1; i >= 0; i-- {
		t := n.tokens[i]
		if !(skipWS && t.isWhitespace()) {
			return i, t
		}
	}
	return -1, nil
}

func (n *node) tokenIndex(t *node) int {
	for i, x := range n.tokens {
		if x == t {
			return i
		}
	}
	return -1
}

// groupTokens ports TokenList.group_tokens(cls, start, end, extend=...).
func (n *node) groupTokens(cls class, start, end int, extend bool) *node {
	endIdx := end + 1
	first := n.tokens[start]
	// isinstance(start, grp_cls): every group is an instance of TokenList.
	if extend && (first.cls == cls || (cls == clsTokenList && first.isGroup())) {
		sub := append([]*node(nil), n.tokens[start+1:endIdx]...)
		first.tokens = append(first.tokens, sub...)
		n.tokens = append(n.tokens[:start+1], n.tokens[endIdx:]...)
		return first
	}
	sub := append([]*node(nil), n.tokens[start:endIdx]...)
	grp := newGroup(cls, sub)
	n.tokens[start] = grp
	if endIdx > start+1 {
		n.tokens = append(n.tokens[:start+1], n.tokens[endIdx:]...)
	}
	return grp
}

// sublists returns the group children.
func (n *node) sublists() []*node {
	var out []*node
	for _, t := range n.tokens {
		if t.isGroup() {
			out = append(out, t)
		}
	}
	return out
}

// errGrouping is sqlparse's SQLParseError from the grouping limits.
var errGrouping = errors.New("sqlparse: grouping limit exceeded")

const (
	maxGroupingDepth  = 100
	maxGroupingTokens = 10000
)

// --- statement splitting ---------------------------------------------------

// splitStatements ports StatementSplitter.process.
func splitStatements(toks []lexToken) [][]lexToken {
	var out [][]lexToken
	sp := &splitter{}
	sp.reset()
	for _, t := range toks {
		if sp.consumeWS && t.typ != ttWhitespace && t.typ != ttCommentSingle {
			out = append(out, sp.tokens)
			sp.reset()
		}
		sp.level += sp.changeSplitLevel(t.typ, t.val)
		sp.tokens = append(sp.tokens, t)
		switch {
		case t.typ == ttPunctuation && t.val == ";":
			sp.seenBegin = false
			if sp.level <= 0 && !sp.inStack("BEGIN") {
				sp.consumeWS = true
			}
		case t.typ == ttKeyword && firstField(t.val) == "GO":
			sp.consumeWS = true
		case t.typ != ttWhitespace && t.typ != ttNewline && t.typ != ttCommentSingle &&
			t.typ != ttCommentMultiline && !(t.typ == ttKeyword && pyUpper(t.val) == "BEGIN"):
			sp.seenBegin = false
		}
	}
	if len(sp.tokens) > 0 {
		allWS := true
		for _, t := range sp.tokens {
			if !t.typ.in(ttWhitespace) {
				allWS = false
				break
			}
		}
		if !allWS {
			out = append(out, sp.tokens)
		}
	}
	return out
}

// firstField is Python's value.split()[0].
func firstField(s string) string {
	f := strings.FieldsFunc(s, isSpace)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

type splitter struct {
	blockStack       []string
	parenthesisLevel int
	unconfirmedStart string
	isCreate         bool
	seenBegin        bool
	consumeWS        bool
	tokens           []lexToken
	level            int
}

func (s *splitter) reset() { *s = splitter{} }

func (s *splitter) inStack(w string) bool {
	for _, b := range s.blockStack {
		if b == w {
			return true
		}
	}
	return false
}

func (s *splitter) top() string {
	if len(s.blockStack) == 0 {
		return ""
	}
	return s.blockStack[len(s.blockStack)-1]
}

func (s *splitter) pop() { s.blockStack = s.blockStack[:len(s.blockStack)-1] }

func (s *splitter) changeSplitLevel(typ ttype, val string) int {
	if typ == ttPunctuation && val == ";" {
		s.unconfirmedStart = ""
		if s.seenBegin {
			s.seenBegin = false
			if s.top() == "BEGIN" {
				s.pop()
				return -1
			}
		}
		return 0
	}
	if typ == ttPunctuation && val == "(" {
		s.parenthesisLevel++
		return 1
	}
	if typ == ttPunctuation && val == ")" {
		s.parenthesisLevel = max(0, s.parenthesisLevel-1)
		return -1
	}
	if !typ.in(ttKeyword) {
		return 0
	}
	unified := pyUpper(val)
	if typ == ttKeywordDDL && strings.HasPrefix(unified, "CREATE") {
		s.isCreate = true
		return 0
	}
	if unified == "DECLARE" && s.isCreate && len(s.blockStack) == 0 {
		s.blockStack = append(s.blockStack, "DECLARE")
		return 1
	}
	if unified == "BEGIN" {
		s.seenBegin = true
		if s.top() == "DECLARE" {
			s.pop()
			s.blockStack = append(s.blockStack, "BEGIN")
			return 0
		}
		s.blockStack = append(s.blockStack, "BEGIN")
		return 1
	}
	if s.seenBegin && (typ == ttKeyword || typ == ttName) {
		switch unified {
		case "TRANSACTION", "WORK", "TRAN", "DISTRIBUTED", "DEFERRED", "IMMEDIATE", "EXCLUSIVE":
			s.seenBegin = false
			if s.top() == "BEGIN" {
				s.pop()
				return -1
			}
			return 0
		}
	}
	if s.inStack("BEGIN") {
		switch unified {
		case "FOR":
			s.unconfirmedStart = "FOR"
			return 0
		case "WHILE":
			s.unconfirmedStart = "WHILE"
			return 0
		case "LOOP", "DO":
			if s.unconfirmedStart == "FOR" || s.unconfirmedStart == "WHILE" {
				s.blockStack = append(s.blockStack, s.unconfirmedStart)
				s.unconfirmedStart = ""
				return 1
			}
			if unified == "LOOP" {
				s.blockStack = append(s.blockStack, "LOOP")
				return 1
			}
		case "IF", "CASE":
			s.blockStack = append(s.blockStack, unified)
			return 1
		}
	}
	switch unified {
	case "END IF":
		if s.top() == "IF" {
			s.pop()
			return -1
		}
	case "END FOR":
		if s.top() == "FOR" {
			s.pop()
			return -1
		}
	case "END WHILE":
		if s.top() == "WHILE" {
			s.pop()
			return -1
		}
	case "END LOOP":
		if t := s.top(); t == "LOOP" || t == "FOR" || t == "WHILE" {
			s.pop()
			return -1
		}
	case "END CASE":
		if s.top() == "CASE" {
			s.pop()
			return -1
		}
	case "END":
		if len(s.blockStack) > 0 {
			s.pop()
		}
		return -1
	}
	return 0
}

// parseStatements ports sqlparse.parse: tokenise, split and group.
func parseStatements(s string) ([]*node, error) {
	var out []*node
	for _, st := range splitStatements(tokenize(s)) {
		toks := make([]*node, len(st))
		for i, t := range st {
			toks[i] = newToken(t.typ, t.val)
		}
		stmt := newGroup(clsStatement, toks)
		if err := group(stmt); err != nil {
			return nil, err
		}
		out = append(out, stmt)
	}
	return out, nil
}

// --- grouping ----------------------------------------------------------------

func group(stmt *node) error {
	steps := []func(*node) error{
		wrap(groupComments),
		groupBrackets,
		groupParenthesis,
		groupCase,
		groupIf,
		groupFor,
		groupBegin,
		wrap(groupOver),
		wrap(groupFunctions),
		wrap(groupWhere),
		groupPeriod,
		groupArrays,
		wrap(groupIdentifier),
		wrap(groupOrder),
		groupTypecasts,
		groupTzcasts,
		groupTypedLiteral,
		groupOperator,
		groupComparison,
		groupAs,
		wrap(groupAliased),
		groupAssignment,
		wrap(alignComments),
		groupIdentifierList,
		wrap(groupValues),
	}
	for _, f := range steps {
		if err := f(stmt); err != nil {
			return err
		}
	}
	return nil
}

func wrap(f func(*node)) func(*node) error {
	return func(n *node) error { f(n); return nil }
}

// recurse ports the @recurse(*cls) decorator: apply f to every sublist not
// of the excluded classes, depth first, then to tlist.
func recurse(tlist *node, f func(*node), exclude ...class) {
	for _, sg := range tlist.sublists() {
		skip := false
		for _, c := range exclude {
			if sg.cls == c {
				skip = true
			}
		}
		if !skip {
			recurse(sg, f, exclude...)
		}
	}
	f(tlist)
}

type delimited struct {
	cls   class
	open  pattern
	close pattern
}

var (
	dParenthesis    = delimited{clsParenthesis, pattern{ttPunctuation, []string{"("}}, pattern{ttPunctuation, []string{")"}}}
	dSquareBrackets = delimited{clsSquareBrackets, pattern{ttPunctuation, []string{"["}}, pattern{ttPunctuation, []string{"]"}}}
	dCase           = delimited{clsCase, pattern{ttKeyword, []string{"CASE"}}, pattern{ttKeyword, []string{"END"}}}
	dIf             = delimited{clsIf, pattern{ttKeyword, []string{"IF"}}, pattern{ttKeyword, []string{"END IF"}}}
	dFor            = delimited{clsFor, pattern{ttKeyword, []string{"FOR", "FOREACH"}}, pattern{ttKeyword, []string{"END LOOP"}}}
	dBegin          = delimited{clsBegin, pattern{ttKeyword, []string{"BEGIN"}}, pattern{ttKeyword, []string{"END"}}}
)

func isDelimitedClass(c class) bool {
	switch c {
	case clsParenthesis, clsSquareBrackets, clsCase, clsIf, clsFor, clsBegin:
		return true
	}
	return false
}

// groupMatching ports _group_matching.
func groupMatching(tlist *node, d delimited, depth int) error {
	if depth > maxGroupingDepth {
		return errGrouping
	}
	if len(tlist.tokens) > maxGroupingTokens {
		return errGrouping
	}
	var opens []int
	offset := 0
	list := append([]*node(nil), tlist.tokens...)
	for idx, tok := range list {
		tidx := idx - offset
		if tok.isWhitespace() {
			continue
		}
		if tok.isGroup() && tok.cls != d.cls {
			if err := groupMatching(tok, d, depth+1); err != nil {
				return err
			}
			continue
		}
		if tok.match(d.open.typ, d.open.values...) {
			opens = append(opens, tidx)
		} else if tok.match(d.close.typ, d.close.values...) {
			if len(opens) == 0 {
				continue
			}
			openIdx := opens[len(opens)-1]
			opens = opens[:len(opens)-1]
			tlist.groupTokens(d.cls, openIdx, tidx, false)
			offset += tidx - openIdx
		}
	}
	return nil
}

func groupBrackets(t *node) error    { return groupMatching(t, dSquareBrackets, 0) }
func groupParenthesis(t *node) error { return groupMatching(t, dParenthesis, 0) }
func groupCase(t *node) error        { return groupMatching(t, dCase, 0) }
func groupIf(t *node) error          { return groupMatching(t, dIf, 0) }
func groupFor(t *node) error         { return groupMatching(t, dFor, 0) }
func groupBegin(t *node) error       { return groupMatching(t, dBegin, 0) }

// groupSpec holds the arguments of _group.
type groupSpec struct {
	cls       class
	match     func(*node) bool
	validPrev func(*node) bool
	validNext func(*node) bool
	post      func(tlist *node, pidx, tidx, nidx int) (int, int)
	extend    bool
	recurse   bool
}

func isDelimiter(tlist, tok *node) bool {
	return tok != nil && isDelimitedClass(tlist.cls) && len(tlist.tokens) > 0 &&
		(tok == tlist.tokens[0] || tok == tlist.tokens[len(tlist.tokens)-1])
}

// doGroup ports _group.
func doGroup(tlist *node, g *groupSpec, depth int) error {
	if depth > maxGroupingDepth {
		return errGrouping
	}
	if len(tlist.tokens) > maxGroupingTokens {
		return errGrouping
	}
	offset := 0
	pidx := -1
	var prev *node
	list := append([]*node(nil), tlist.tokens...)
	for idx, tok := range list {
		tidx := idx - offset
		if tidx < 0 {
			continue
		}
		if tok.isWhitespace() {
			continue
		}
		if g.recurse && tok.isGroup() && tok.cls != g.cls {
			if err := doGroup(tok, g, depth+1); err != nil {
				return err
			}
		}
		if g.match(tok) {
			nidx, next := tlist.tokenNext(tidx, true, false)
			if prev != nil && g.validPrev(prev) && g.validNext(next) &&
				!isDelimiter(tlist, prev) && !isDelimiter(tlist, next) {
				from, to := g.post(tlist, pidx, tidx, nidx)
				grp := tlist.groupTokens(g.cls, from, to, g.extend)
				offset += to - from
				pidx, prev = from, grp
				continue
			}
		}
		pidx, prev = tidx, tok
	}
	return nil
}

func postPN(_ *node, pidx, _, nidx int) (int, int) { return pidx, nidx }

func notNil(t *node) bool { return t != nil }

func groupTypecasts(tlist *node) error {
	return doGroup(tlist, &groupSpec{
		cls:       clsIdentifier,
		match:     func(t *node) bool { return t.match(ttPunctuation, "::") },
		validPrev: notNil, validNext: notNil, post: postPN, extend: true, recurse: true,
	}, 0)
}

var typedLiteralOpen = matcher{patterns: []pattern{{ttNameBuiltin, nil}, {ttKeyword, []string{"TIMESTAMP"}}}}

func groupTzcasts(tlist *node) error {
	return doGroup(tlist, &groupSpec{
		cls:       clsIdentifier,
		match:     func(t *node) bool { return !t.isGroup() && t.typ == ttKeywordTZCast },
		validPrev: notNil,
		validNext: func(t *node) bool {
			return t != nil && (t.isWhitespace() || t.match(ttKeyword, "AS") || t.match(ttStringSingle))
		},
		post: postPN, extend: true, recurse: true,
	}, 0)
}

func groupTypedLiteral(tlist *node) error {
	post := func(_ *node, _, tidx, nidx int) (int, int) { return tidx, nidx }
	if err := doGroup(tlist, &groupSpec{
		cls:       clsTypedLiteral,
		match:     typedLiteralOpen.ok,
		validPrev: notNil,
		validNext: func(t *node) bool { return t != nil && t.match(ttStringSingle) },
		post:      post, extend: false, recurse: true,
	}, 0); err != nil {
		return err
	}
	return doGroup(tlist, &groupSpec{
		cls:       clsTypedLiteral,
		match:     func(t *node) bool { return t.cls == clsTypedLiteral },
		validPrev: notNil,
		validNext: func(t *node) bool {
			return t != nil && t.match(ttKeyword, "DAY", "HOUR", "MINUTE", "MONTH", "SECOND", "YEAR")
		},
		post: post, extend: true, recurse: true,
	}, 0)
}

func groupPeriod(tlist *node) error {
	prevOK := matcher{classes: []class{clsSquareBrackets, clsIdentifier}, exactTypes: []ttype{ttName, ttStringSymbol}}
	nextOK := matcher{classes: []class{clsSquareBrackets, clsFunction}, exactTypes: []ttype{ttName, ttStringSymbol, ttWildcard, ttStringSingle}}
	return doGroup(tlist, &groupSpec{
		cls: clsIdentifier,
		match: func(t *node) bool {
			return t.match(ttPunctuation, ".") || t.match(ttOperator, "->") || t.match(ttOperator, "->>")
		},
		validPrev: prevOK.ok,
		validNext: func(*node) bool { return true },
		post: func(tl *node, pidx, tidx, nidx int) (int, int) {
			var next *node
			if nidx >= 0 {
				next = tl.tokens[nidx]
			}
			if nextOK.ok(next) {
				return pidx, nidx
			}
			return pidx, tidx
		},
		extend: true, recurse: true,
	}, 0)
}

func groupAs(tlist *node) error {
	return doGroup(tlist, &groupSpec{
		cls:       clsIdentifier,
		match:     func(t *node) bool { return t.isKeyword() && t.normalized() == "AS" },
		validPrev: func(t *node) bool { return t.normalized() == "NULL" || !t.isKeyword() },
		validNext: func(t *node) bool {
			return !(matcher{exactTypes: []ttype{ttKeywordDML, ttKeywordDDL, ttKeywordCTE}}).ok(t) && t != nil
		},
		post: postPN, extend: true, recurse: true,
	}, 0)
}

func groupAssignment(tlist *node) error {
	valid := func(t *node) bool { return t != nil && (t.isGroup() || t.typ != ttKeyword) }
	return doGroup(tlist, &groupSpec{
		cls:       clsAssignment,
		match:     func(t *node) bool { return t.match(ttAssignment, ":=") },
		validPrev: valid, validNext: valid,
		post: func(tl *node, pidx, _, nidx int) (int, int) {
			snidx, _ := tl.tokenNextBy(matcher{patterns: []pattern{{ttPunctuation, []string{";"}}}}, nidx)
			if snidx > 0 {
				nidx = snidx
			}
			return pidx, nidx
		},
		extend: true, recurse: true,
	}, 0)
}

var (
	tNumerical = []ttype{ttNumber, ttNumberInteger, ttNumberFloat}
	tString    = []ttype{ttString, ttStringSingle, ttStringSymbol}
	tName      = []ttype{ttName, ttNamePlaceholder}
)

func concatTypes(ts ...[]ttype) []ttype {
	var out []ttype
	for _, t := range ts {
		out = append(out, t...)
	}
	return out
}

func groupComparison(tlist *node) error {
	m := matcher{
		classes:    []class{clsParenthesis, clsFunction, clsIdentifier, clsOperation, clsTypedLiteral},
		exactTypes: concatTypes(tNumerical, tString, tName),
	}
	valid := func(t *node) bool {
		return m.ok(t) || (t != nil && t.isKeyword() && t.normalized() == "NULL")
	}
	return doGroup(tlist, &groupSpec{
		cls:       clsComparison,
		match:     func(t *node) bool { return !t.isGroup() && t.typ == ttComparison },
		validPrev: valid, validNext: valid, post: postPN, extend: false, recurse: true,
	}, 0)
}

func groupIdentifier(tlist *node) {
	recurse(tlist, func(tl *node) {
		m := matcher{exactTypes: []ttype{ttStringSymbol, ttName}}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			tl.groupTokens(clsIdentifier, tidx, tidx, false)
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	}, clsIdentifier)
}

func groupOver(tlist *node) {
	recurse(tlist, func(tl *node) {
		open := matcher{patterns: []pattern{{ttKeyword, []string{"OVER"}}}}
		nextOK := matcher{classes: []class{clsParenthesis}, subTypes: []ttype{ttName}}
		tidx, tok := tl.tokenNextBy(open, -1)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx, true, false)
			if nextOK.ok(next) {
				tl.groupTokens(clsOver, tidx, nidx, false)
			}
			tidx, tok = tl.tokenNextBy(open, tidx)
		}
	}, clsOver)
}

func groupArrays(tlist *node) error {
	prevOK := matcher{classes: []class{clsSquareBrackets, clsIdentifier, clsFunction}, exactTypes: []ttype{ttName, ttStringSymbol}}
	return doGroup(tlist, &groupSpec{
		cls:       clsIdentifier,
		match:     func(t *node) bool { return t.cls == clsSquareBrackets },
		validPrev: prevOK.ok,
		validNext: func(*node) bool { return true },
		post:      func(_ *node, pidx, tidx, _ int) (int, int) { return pidx, tidx },
		extend:    true, recurse: false,
	}, 0)
}

func groupOperator(tlist *node) error {
	m := matcher{
		classes:    []class{clsSquareBrackets, clsParenthesis, clsFunction, clsIdentifier, clsOperation, clsTypedLiteral},
		exactTypes: concatTypes(tNumerical, tString, tName),
	}
	valid := func(t *node) bool {
		return m.ok(t) || (t != nil && t.match(ttKeyword, "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"))
	}
	return doGroup(tlist, &groupSpec{
		cls: clsOperation,
		match: func(t *node) bool {
			return !t.isGroup() && (t.typ == ttOperator || t.typ == ttWildcard)
		},
		validPrev: valid, validNext: valid,
		post: func(tl *node, pidx, tidx, nidx int) (int, int) {
			tl.tokens[tidx].typ = ttOperator
			return pidx, nidx
		},
		extend: false, recurse: true,
	}, 0)
}

func groupIdentifierList(tlist *node) error {
	m := matcher{
		classes:    []class{clsFunction, clsCase, clsIdentifier, clsComparison, clsIdentifierList, clsOperation},
		patterns:   []pattern{{ttKeyword, []string{"null", "role"}}},
		exactTypes: concatTypes(tNumerical, tString, tName, []ttype{ttKeyword, ttComment, ttWildcard}),
	}
	return doGroup(tlist, &groupSpec{
		cls:       clsIdentifierList,
		match:     func(t *node) bool { return t.match(ttPunctuation, ",") },
		validPrev: m.ok, validNext: m.ok, post: postPN, extend: true, recurse: true,
	}, 0)
}

func groupComments(tlist *node) {
	recurse(tlist, func(tl *node) {
		m := matcher{subTypes: []ttype{ttComment}}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			eidx, end := tl.tokenMatching(func(tk *node) bool {
				return !(m.ok(tk) || tk.typ.in(ttNewline))
			}, tidx)
			if end == nil {
				break
			}
			eidx, _ = tl.tokenPrev(eidx, false)
			tl.groupTokens(clsComment, tidx, eidx, false)
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	}, clsComment)
}

func groupWhere(tlist *node) {
	recurse(tlist, func(tl *node) {
		open := matcher{patterns: []pattern{{ttKeyword, []string{"WHERE"}}}}
		closeM := matcher{patterns: []pattern{{ttKeyword, []string{"ORDER BY", "GROUP BY", "LIMIT", "UNION", "UNION ALL", "EXCEPT", "INTERSECT", "HAVING", "RETURNING", "INTO"}}}}
		tidx, tok := tl.tokenNextBy(open, -1)
		for tok != nil {
			eidx, end := tl.tokenNextBy(closeM, tidx)
			var endTok *node
			if end == nil {
				g := tl.tokens
				if tl.cls == clsParenthesis || tl.cls == clsSquareBrackets {
					g = g[1 : len(g)-1]
				}
				endTok = g[len(g)-1]
			} else {
				endTok = tl.tokens[eidx-1]
			}
			eidx = tl.tokenIndex(endTok)
			tl.groupTokens(clsWhere, tidx, eidx, false)
			tidx, tok = tl.tokenNextBy(open, tidx)
		}
	}, clsWhere)
}

func groupAliased(tlist *node) {
	recurse(tlist, func(tl *node) {
		m := matcher{
			classes:  []class{clsParenthesis, clsFunction, clsCase, clsIdentifier, clsOperation, clsComparison},
			subTypes: []ttype{ttNumber},
		}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx, true, false)
			if next != nil && next.cls == clsIdentifier {
				tl.groupTokens(clsIdentifier, tidx, nidx, true)
			}
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	})
}

func groupFunctions(tlist *node) {
	recurse(tlist, func(tl *node) {
		hasCreate, hasTable, hasAs := false, false, false
		for _, t := range tl.tokens {
			switch pyUpper(t.value()) {
			case "CREATE":
				hasCreate = true
			case "TABLE":
				hasTable = true
			case "AS":
				hasAs = true
			}
		}
		if hasCreate && hasTable && !hasAs {
			return
		}
		m := matcher{subTypes: []ttype{ttName}}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx, true, false)
			if next != nil && next.cls == clsParenthesis {
				oidx, over := tl.tokenNext(nidx, true, false)
				eidx := nidx
				if over != nil && over.cls == clsOver {
					eidx = oidx
				}
				tl.groupTokens(clsFunction, tidx, eidx, false)
			}
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	}, clsFunction)
}

func groupOrder(tlist *node) {
	recurse(tlist, func(tl *node) {
		m := matcher{subTypes: []ttype{ttKeywordOrder}}
		prevOK := matcher{classes: []class{clsIdentifier}, subTypes: []ttype{ttNumber}}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			pidx, prev := tl.tokenPrev(tidx, true)
			if prevOK.ok(prev) {
				tl.groupTokens(clsIdentifier, pidx, tidx, false)
				tidx = pidx
			}
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	}, clsIdentifier)
}

func alignComments(tlist *node) {
	recurse(tlist, func(tl *node) {
		m := matcher{classes: []class{clsComment}}
		tidx, tok := tl.tokenNextBy(m, -1)
		for tok != nil {
			pidx, prev := tl.tokenPrev(tidx, true)
			if prev != nil && prev.isGroup() {
				tl.groupTokens(clsTokenList, pidx, tidx, true)
				tidx = pidx
			}
			tidx, tok = tl.tokenNextBy(m, tidx)
		}
	})
}

func groupValues(tlist *node) {
	m := matcher{patterns: []pattern{{ttKeyword, []string{"VALUES"}}}}
	tidx, tok := tlist.tokenNextBy(m, -1)
	start := tidx
	end := -1
	for tok != nil {
		if tok.cls == clsParenthesis {
			end = tidx
		}
		tidx, tok = tlist.tokenNext(tidx, true, false)
	}
	if end != -1 {
		tlist.groupTokens(clsValues, start, end, true)
	}
}
