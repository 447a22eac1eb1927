package pysql

// Python formatting and literal parsing that MLflow's messages and list
// values depend on: repr() of strings, sets, lists and tuples, int() and
// float() of numeric text, and ast.literal_eval of a parenthesised list.

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/internal/pystr"
)

// pySetRepr formats a set of strings as Python prints it. Python's order
// depends on string hashing, which is randomised per process, so mlrun
// prints the elements sorted; tests compare set literals order-insensitively.
func pySetRepr(items []string) string {
	s := append([]string(nil), items...)
	sort.Strings(s)
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = pystr.Repr(x)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// pyListRepr formats a list of strings as Python prints it.
func pyListRepr(items []string) string {
	parts := make([]string, len(items))
	for i, x := range items {
		parts[i] = pystr.Repr(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyTupleRepr formats a tuple of Python values.
func pyTupleRepr(items []pyValue) string {
	parts := make([]string, len(items))
	for i, x := range items {
		parts[i] = x.repr()
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// asciiDigits maps Unicode decimal digits to ASCII, as int() and float()
// accept them. It returns false if s has a non-ASCII character that is not
// a decimal digit.
func asciiDigits(s string) (string, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s, true
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case unicode.Is(unicode.Nd, r):
			b.WriteRune('0' + rune(digitValue(r)))
		default:
			return "", false
		}
	}
	return b.String(), true
}

// digitValue returns the decimal value of a Unicode Nd character: runs of
// decimal digits in Unicode are blocks of ten code points from 0 to 9.
func digitValue(r rune) int {
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10
}

// pyFloat converts numeric literal text as Python's float() does; overflow
// gives ±Inf.
func pyFloat(text string) (float64, error) {
	s, ok := asciiDigits(strings.TrimSpace(text))
	if !ok {
		return 0, fmt.Errorf("could not convert string to float: %s", pystr.Repr(text))
	}
	s = strings.ReplaceAll(s, "_", "")
	if strings.HasSuffix(s, ".") || strings.Contains(s, ".e") || strings.Contains(s, ".E") {
		s = strings.Replace(s, ".", ".0", 1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, nil
		}
		return 0, fmt.Errorf("could not convert string to float: %s", pystr.Repr(text))
	}
	return f, nil
}

// pyInt converts integer text as Python's int() does. Values outside int64
// give an error, as binding them to SQLite does.
func pyInt(text string) (int64, error) {
	s, ok := asciiDigits(strings.TrimSpace(text))
	if ok && s != "" {
		if n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64); err == nil && !strings.HasPrefix(s, "_") && !strings.HasSuffix(s, "_") && !strings.Contains(s, "__") {
			return n, nil
		} else if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
				return 0, errors.New("Python int too large to convert to SQLite INTEGER")
			}
		}
	}
	return 0, fmt.Errorf("invalid literal for int() with base 10: %s", pystr.Repr(text))
}

// --- ast.literal_eval of a parenthesised list --------------------------------

// pyValue is a Python literal value: a str, a number, a bool, None or a
// container.
type pyValue struct {
	kind  byte // 's' str, 'b' bytes, 'i' int, 'f' float, 'c' complex, 'B' bool, 'N' None, 't' tuple, 'l' list, 'S' set, 'd' dict
	str   string
	num   string // repr of a number
	items []pyValue
}

func (v pyValue) repr() string {
	switch v.kind {
	case 's':
		return pystr.Repr(v.str)
	case 'b':
		return "b" + pystr.Repr(v.str)
	case 'i', 'f', 'c':
		return v.num
	case 'B':
		return v.str
	case 'N':
		return "None"
	case 't':
		return pyTupleRepr(v.items)
	case 'l', 'S':
		parts := make([]string, len(v.items))
		for i, x := range v.items {
			parts[i] = x.repr()
		}
		if v.kind == 'l' {
			return "[" + strings.Join(parts, ", ") + "]"
		}
		if len(parts) == 0 {
			return "set()"
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 'd':
		parts := make([]string, 0, len(v.items)/2)
		for i := 0; i+1 < len(v.items); i += 2 {
			parts = append(parts, v.items[i].repr()+": "+v.items[i+1].repr())
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "?"
}

// errPySyntax and errPyValue are literal_eval's SyntaxError and ValueError.
var (
	errPySyntax = errors.New("invalid syntax")
	errPyValue  = errors.New("malformed node or string")
)

// literalEval evaluates a Python literal expression (the text of a
// parenthesised list in a filter). It supports what literal_eval accepts
// that a filter could plausibly hold: strings with their prefixes, escapes
// and implicit concatenation, numbers, True, False, None, tuples, lists,
// sets and dicts. Anything else is errPyValue or errPySyntax.
func literalEval(src string) (pyValue, error) {
	p := &pyParser{s: []rune(strings.TrimLeft(src, " \t"))}
	p.skip()
	v, err := p.expr()
	if err != nil {
		return v, err
	}
	p.skip()
	if p.i != len(p.s) {
		return v, errPySyntax
	}
	return v, nil
}

type pyParser struct {
	s     []rune
	i     int
	depth int // bracket depth: newlines are whitespace inside brackets
}

func (p *pyParser) peek() rune {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return -1
}

func (p *pyParser) skip() {
	for p.i < len(p.s) {
		r := p.s[p.i]
		switch {
		case r == ' ' || r == '\t' || r == '\f':
			p.i++
		case (r == '\n' || r == '\r') && p.depth > 0:
			p.i++
		case r == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
		case r == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

// peekWord reports whether one of the keywords starts at the position.
func (p *pyParser) peekWord(words ...string) bool {
	rest := string(p.s[p.i:])
	for _, w := range words {
		if strings.HasPrefix(rest, w) && (len(rest) == len(w) || !unicode.IsLetter(rune(rest[len(w)])) && rest[len(w)] != '_') {
			return true
		}
	}
	return false
}

func (p *pyParser) expr() (pyValue, error) {
	p.skip()
	r := p.peek()
	switch {
	case r == '(' || r == '[' || r == '{':
		return p.container()
	case r == '-' || r == '+':
		p.i++
		p.skip()
		v, err := p.expr()
		if err != nil {
			return v, err
		}
		if v.kind != 'i' && v.kind != 'f' && v.kind != 'c' {
			return v, errPyValue
		}
		if r == '-' {
			v = negate(v)
		}
		return v, nil
	case r == '\'' || r == '"':
		return p.strings("")
	case r >= '0' && r <= '9' || r == '.':
		return p.number()
	case r == '_' || unicode.IsLetter(r):
		j := p.i
		for j < len(p.s) && (p.s[j] == '_' || unicode.IsLetter(p.s[j]) || unicode.IsDigit(p.s[j])) {
			j++
		}
		word := string(p.s[p.i:j])
		if q := p.s; j < len(q) && (q[j] == '\'' || q[j] == '"') && isStringPrefix(word) {
			p.i = j
			return p.strings(strings.ToLower(word))
		}
		p.i = j
		switch word {
		case "True", "False":
			return pyValue{kind: 'B', str: word}, nil
		case "None":
			return pyValue{kind: 'N'}, nil
		}
		return pyValue{}, errPyValue
	case r < 0:
		return pyValue{}, errPySyntax
	}
	return pyValue{}, errPySyntax
}

func negate(v pyValue) pyValue {
	if strings.HasPrefix(v.num, "-") {
		v.num = v.num[1:]
	} else if v.num != "0" && v.num != "0.0" || v.kind == 'f' {
		v.num = "-" + v.num
	}
	return v
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

func (p *pyParser) container() (pyValue, error) {
	open := p.s[p.i]
	closeR := map[rune]rune{'(': ')', '[': ']', '{': '}'}[open]
	p.i++
	p.depth++
	defer func() { p.depth-- }()
	var items []pyValue
	trailingComma := false
	isDict := false
	for {
		p.skip()
		if p.peek() == closeR {
			p.i++
			break
		}
		v, err := p.expr()
		if err != nil {
			return v, err
		}
		items = append(items, v)
		p.skip()
		if open == '{' && p.peek() == ':' {
			isDict = true
			p.i++
			v, err := p.expr()
			if err != nil {
				return v, err
			}
			items = append(items, v)
			p.skip()
		}
		trailingComma = false
		switch r := p.peek(); {
		case r == ',':
			p.i++
			trailingComma = true
		case r == closeR:
		case r >= 0 && strings.ContainsRune("+-*/%@&|^<>=!.[(", r), p.peekWord("if", "and", "or", "not", "in", "is"):
			// Valid Python, but not a literal: literal_eval's ValueError.
			return pyValue{}, errPyValue
		default:
			return pyValue{}, errPySyntax
		}
		if !trailingComma {
			p.skip()
			if p.peek() != closeR {
				return pyValue{}, errPySyntax
			}
			p.i++
			break
		}
	}
	switch open {
	case '(':
		if len(items) == 1 && !trailingComma {
			return items[0], nil
		}
		return pyValue{kind: 't', items: items}, nil
	case '[':
		return pyValue{kind: 'l', items: items}, nil
	}
	if isDict || len(items) == 0 {
		return pyValue{kind: 'd', items: items}, nil
	}
	return pyValue{kind: 'S', items: items}, nil
}

func (p *pyParser) number() (pyValue, error) {
	j := p.i
	for j < len(p.s) && (p.s[j] < 0x80 && (unicode.IsLetter(p.s[j]) || unicode.IsDigit(p.s[j]) || p.s[j] == '_' || p.s[j] == '.') ||
		(j > p.i && (p.s[j] == '+' || p.s[j] == '-') && (p.s[j-1] == 'e' || p.s[j-1] == 'E'))) {
		j++
	}
	text := string(p.s[p.i:j])
	p.i = j
	if text == "." {
		return pyValue{}, errPySyntax
	}
	lower := strings.ToLower(text)
	if strings.HasSuffix(lower, "j") {
		return pyValue{kind: 'c', num: text}, nil
	}
	clean := strings.ReplaceAll(lower, "_", "")
	if strings.HasPrefix(clean, "0x") || strings.HasPrefix(clean, "0o") || strings.HasPrefix(clean, "0b") {
		n, ok := new(big.Int).SetString(clean, 0)
		if !ok {
			return pyValue{}, errPySyntax
		}
		return pyValue{kind: 'i', num: n.String()}, nil
	}
	if !strings.ContainsAny(clean, ".e") {
		n, ok := new(big.Int).SetString(clean, 10)
		if !ok || (len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "") {
			return pyValue{}, errPySyntax
		}
		return pyValue{kind: 'i', num: n.String()}, nil
	}
	f, err := pyFloat(clean)
	if err != nil {
		return pyValue{}, errPySyntax
	}
	return pyValue{kind: 'f', num: pyfloat.Repr(f)}, nil
}

// strings parses one or more adjacent string literals (implicit
// concatenation) starting with the given prefix.
func (p *pyParser) strings(prefix string) (pyValue, error) {
	var b strings.Builder
	kind := byte(0)
	for {
		if strings.Contains(prefix, "f") {
			return pyValue{}, errPyValue // f-strings are not literals
		}
		k := byte('s')
		if strings.Contains(prefix, "b") {
			k = 'b'
		}
		if kind != 0 && kind != k {
			return pyValue{}, errPySyntax // cannot mix bytes and nonbytes literals
		}
		kind = k
		s, err := p.stringLit(strings.Contains(prefix, "r"), k == 'b')
		if err != nil {
			return pyValue{}, err
		}
		b.WriteString(s)
		p.skip()
		// another literal, possibly with a prefix?
		r := p.peek()
		prefix = ""
		if r == '\'' || r == '"' {
			continue
		}
		j := p.i
		for j < len(p.s) && j-p.i < 2 && unicode.IsLetter(p.s[j]) {
			j++
		}
		if j > p.i && j < len(p.s) && (p.s[j] == '\'' || p.s[j] == '"') && isStringPrefix(string(p.s[p.i:j])) {
			prefix = strings.ToLower(string(p.s[p.i:j]))
			p.i = j
			continue
		}
		return pyValue{kind: kind, str: b.String()}, nil
	}
}

func (p *pyParser) stringLit(raw, bytesLit bool) (string, error) {
	q := p.s[p.i]
	triple := p.i+2 < len(p.s) && p.s[p.i+1] == q && p.s[p.i+2] == q
	if triple {
		p.i += 3
	} else {
		p.i++
	}
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", errPySyntax
		}
		r := p.s[p.i]
		if r == q {
			if !triple {
				p.i++
				return b.String(), nil
			}
			if p.i+2 < len(p.s) && p.s[p.i+1] == q && p.s[p.i+2] == q {
				p.i += 3
				return b.String(), nil
			}
		}
		if (r == '\n' || r == '\r') && !triple {
			return "", errPySyntax
		}
		if bytesLit && r >= 0x80 {
			return "", errPySyntax
		}
		if r == '\\' && p.i+1 < len(p.s) {
			if raw {
				b.WriteRune(r)
				b.WriteRune(p.s[p.i+1])
				p.i += 2
				continue
			}
			s, n, err := pyEscape(p.s[p.i+1:], bytesLit)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			p.i += 1 + n
			continue
		}
		b.WriteRune(r)
		p.i++
	}
}

// pyEscape decodes the escape sequence after a backslash and returns the
// text and how many runes it used.
func pyEscape(s []rune, bytesLit bool) (string, int, error) {
	c := s[0]
	switch c {
	case '\n':
		return "", 1, nil
	case '\\', '\'', '"':
		return string(c), 1, nil
	case 'a':
		return "\a", 1, nil
	case 'b':
		return "\b", 1, nil
	case 'f':
		return "\f", 1, nil
	case 'n':
		return "\n", 1, nil
	case 'r':
		return "\r", 1, nil
	case 't':
		return "\t", 1, nil
	case 'v':
		return "\v", 1, nil
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
		if (c == 'u' || c == 'U') && bytesLit {
			return "\\" + string(c), 1, nil
		}
		if len(s) < n+1 {
			return "", 0, errPySyntax
		}
		v, err := strconv.ParseUint(string(s[1:n+1]), 16, 32)
		if err != nil || v > unicode.MaxRune {
			return "", 0, errPySyntax
		}
		return string(rune(v)), n + 1, nil
	case 'N':
		return "", 0, errPySyntax // named characters are not supported
	}
	if c >= '0' && c <= '7' {
		n, v := 0, 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return string(rune(v)), n, nil
	}
	return "\\" + string(c), 1, nil
}
