// Package pysql holds the parts of Python and sqlparse that MLflow's search
// parsers depend on, for package search: a port of sqlparse 0.6.1's lexer
// and grouping, ast.literal_eval of a list, int() and float() of numeric
// text, repr() of str, sets and tuples, str.upper() and str.strip(),
// json.loads, and SearchUtils.parse_start_offset_from_page_token.
//
// tables.go is generated from the installed sqlparse and Python by
// testdata/search/gen_sqlparse_tables.py (go generate, with MLRUN_PYTHON
// naming a Python that has sqlparse, e.g. an MLflow virtualenv's).
// Errors are plain values (see [Error]); the caller gives them their store
// kind.
package pysql

//go:generate sh -c "$DOLLAR{MLRUN_PYTHON:-python3} ../../../../testdata/search/gen_sqlparse_tables.py > tables.go.tmp && gofmt tables.go.tmp > tables.go && rm tables.go.tmp"

import (
	"strings"

	"github.com/mlrun-go/mlrun/internal/pystr"
)

// Node is a sqlparse token or token list.
type Node = node

// Parse is sqlparse.parse: the statements of s, grouped. It fails only
// where sqlparse raises (its grouping limits).
func Parse(s string) ([]*Node, error) { return parseStatements(s) }

// Tokens returns the children of a group (nil for a token).
func (n *node) Tokens() []*Node { return n.tokens }

// Value is str(token).
func (n *node) Value() string { return n.value() }

// IsWhitespace is token.is_whitespace.
func (n *node) IsWhitespace() bool { return n.isWhitespace() }

// IsGroup reports whether n is a TokenList.
func (n *node) IsGroup() bool { return n.isGroup() }

// IsComparison is isinstance(token, sqlparse.sql.Comparison).
func (n *node) IsComparison() bool { return n.cls == clsComparison }

// IsIdentifier is isinstance(token, sqlparse.sql.Identifier).
func (n *node) IsIdentifier() bool { return n.cls == clsIdentifier }

// IsParenthesis is isinstance(token, sqlparse.sql.Parenthesis).
func (n *node) IsParenthesis() bool { return n.cls == clsParenthesis }

// IsKeyword reports token.match(Keyword, [value]) for one keyword.
func (n *node) IsKeyword(value string) bool { return n.match(ttKeyword, value) }

// IsInteger and IsFloat report the Literal.Number.Integer and .Float types.
func (n *node) IsInteger() bool { return !n.isGroup() && n.typ == ttNumberInteger }

// IsFloat reports the Literal.Number.Float type.
func (n *node) IsFloat() bool { return !n.isGroup() && n.typ == ttNumberFloat }

// IsSingleString reports the Literal.String.Single type.
func (n *node) IsSingleString() bool { return !n.isGroup() && n.typ == ttStringSingle }

// IsBuiltin reports token.match(Name.Builtin, [value]), for example the
// "timestamp" of an order_by clause.
func (n *node) IsBuiltin(value string) bool { return n.match(ttNameBuiltin, value) }

// IsOrderKeyword reports the Keyword.Order type (ASC, DESC).
func (n *node) IsOrderKeyword() bool { return !n.isGroup() && n.typ == ttKeywordOrder }

// Upper is Python's str.upper().
func Upper(s string) string { return pyUpper(s) }

// IsSpace reports whether r is Python's \s in a str pattern.
func IsSpace(r rune) bool { return isSpace(r) }

// Strip is Python's str.strip().
func Strip(s string) string { return strings.TrimFunc(s, isSpace) }

// JoinInComparisons ports MLflow's _join_in_comparison_tokens: it joins
// `identifier IN (...)`, `identifier NOT IN (...)`, `identifier IS NULL`
// and `identifier IS NOT NULL` into comparisons. Whitespace is dropped.
func JoinInComparisons(tokens []*Node) []*Node {
	var nw []*node
	for _, t := range tokens {
		if !t.isWhitespace() {
			nw = append(nw, t)
		}
	}
	var out []*node
	n := len(nw)
	for i := 0; i < n; {
		first := nw[i]
		if n-i < 3 {
			out = append(out, nw[i:]...)
			break
		}
		if first.cls != clsIdentifier {
			out = append(out, first)
			i++
			continue
		}
		second, third := nw[i+1], nw[i+2]
		if second.match(ttKeyword, "IN") && third.cls == clsParenthesis {
			out = append(out, newGroup(clsComparison, []*node{first, second, third}))
			i += 3
			continue
		}
		if second.match(ttKeyword, "IS") && third.match(ttKeyword, "NULL") {
			out = append(out, newGroup(clsComparison, []*node{first, newToken(ttKeyword, "IS NULL")}))
			i += 3
			continue
		}
		if second.match(ttKeyword, "IS") && !third.isGroup() && third.typ == ttKeyword && pyUpper(third.val) == "NOT NULL" {
			out = append(out, newGroup(clsComparison, []*node{first, newToken(ttKeyword, "IS NOT NULL")}))
			i += 3
			continue
		}
		if i+3 >= n {
			out = append(out, first, second, third)
			break
		}
		fourth := nw[i+3]
		if second.match(ttKeyword, "NOT") && third.match(ttKeyword, "IN") && fourth.cls == clsParenthesis {
			out = append(out, newGroup(clsComparison, []*node{first, newToken(ttKeyword, "NOT IN"), fourth}))
			i += 4
			continue
		}
		out = append(out, first, second, third, fourth)
		i += 4
	}
	return out
}

// Value is a Python value from ast.literal_eval or json.loads.
type Value = pyValue

// Kind is the value's type: 's' str, 'b' bytes, 'i' int, 'f' float,
// 'c' complex, 'B' bool, 'N' None, 't' tuple, 'l' list, 'S' set, 'd' dict.
func (v pyValue) Kind() byte { return v.kind }

// Str is a str's text, or "True"/"False" for a bool.
func (v pyValue) Str() string { return v.str }

// Num is the repr of a number.
func (v pyValue) Num() string { return v.num }

// Items are a container's items (a dict's keys and values alternate).
func (v pyValue) Items() []Value { return v.items }

// Repr is repr(v).
func (v pyValue) Repr() string { return v.repr() }

// TypeName is type(v).__name__.
func (v pyValue) TypeName() string { return pyTypeName(v) }

// Truthy is bool(v).
func (v pyValue) Truthy() bool { return !pyFalsy(v) }

// LiteralEval is ast.literal_eval. Its error is ErrSyntax (SyntaxError) or
// ErrValue (ValueError).
func LiteralEval(src string) (Value, error) { return literalEval(src) }

// Literal errors.
var (
	ErrSyntax = errPySyntax
	ErrValue  = errPyValue
)

// JSONLoads is json.loads of bytes.
func JSONLoads(b []byte) (Value, error) { return pyJSONLoads(b) }

// Float is Python's float(str); Int is int(str).
func Float(text string) (float64, error) { return pyFloat(text) }

// Int is Python's int(str).
func Int(text string) (int64, error) { return pyInt(text) }

// Repr is repr(str).
func Repr(s string) string { return pystr.Repr(s) }

// SetRepr is the repr of a set of str, sorted (Python's order is random).
func SetRepr(items []string) string { return pySetRepr(items) }

// ListRepr is the repr of a list of str.
func ListRepr(items []string) string { return pyListRepr(items) }

// TupleRepr is the repr of a tuple.
func TupleRepr(items []Value) string { return pyTupleRepr(items) }

// B64Decode is base64.b64decode without validation; ok is false where it
// raises binascii.Error.
func B64Decode(s string) ([]byte, bool) { return pyB64Decode(s) }

// BytesRepr is repr(bytes).
func BytesRepr(b []byte) string { return pyBytesRepr(b) }

// Error is an exception MLflow raises: with Internal, one it raises without
// an error code (a plain Python exception, INTERNAL_ERROR); otherwise an
// MlflowException with INVALID_PARAMETER_VALUE.
type Error struct {
	Msg      string
	Internal bool
}

func (e *Error) Error() string { return e.Msg }

func isASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 }) < 0
}
