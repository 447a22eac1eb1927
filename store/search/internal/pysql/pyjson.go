package pysql

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
)

// errJSON is json.loads' JSONDecodeError (or UnicodeDecodeError).
var errJSON = errors.New("invalid JSON")

// pyJSONLoads parses JSON bytes as Python's json.loads does, into Python
// values: objects keep their key order (a repeated key keeps its first
// position and its last value), NaN, Infinity and -Infinity are accepted.
func pyJSONLoads(b []byte) (pyValue, error) {
	if !utf8.Valid(b) || (len(b) >= 2 && (b[0] == 0 || b[1] == 0)) {
		return pyValue{}, errJSON
	}
	s := strings.TrimPrefix(string(b), "\ufeff")
	if len(s) != len(b) {
		return pyValue{}, errJSON // a BOM makes json.loads fail on str input
	}
	p := &jsonParser{s: s}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return v, err
	}
	p.ws()
	if p.i != len(p.s) {
		return v, errJSON
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *jsonParser) lit(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) (pyValue, error) {
	if depth > 500 || p.i >= len(p.s) {
		return pyValue{}, errJSON
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		var items []pyValue
		p.ws()
		if p.lit("}") {
			return pyValue{kind: 'd'}, nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return pyValue{}, errJSON
			}
			k, err := p.str()
			if err != nil {
				return k, err
			}
			p.ws()
			if !p.lit(":") {
				return pyValue{}, errJSON
			}
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			replaced := false
			for j := 0; j < len(items); j += 2 {
				if items[j].str == k.str {
					items[j+1] = v
					replaced = true
				}
			}
			if !replaced {
				items = append(items, k, v)
			}
			p.ws()
			if p.lit("}") {
				return pyValue{kind: 'd', items: items}, nil
			}
			if !p.lit(",") {
				return pyValue{}, errJSON
			}
		}
	case c == '[':
		p.i++
		var items []pyValue
		p.ws()
		if p.lit("]") {
			return pyValue{kind: 'l'}, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			items = append(items, v)
			p.ws()
			if p.lit("]") {
				return pyValue{kind: 'l', items: items}, nil
			}
			if !p.lit(",") {
				return pyValue{}, errJSON
			}
		}
	case c == '"':
		return p.str()
	case p.lit("true"):
		return pyValue{kind: 'B', str: "True"}, nil
	case p.lit("false"):
		return pyValue{kind: 'B', str: "False"}, nil
	case p.lit("null"):
		return pyValue{kind: 'N'}, nil
	case p.lit("NaN"):
		return pyValue{kind: 'f', num: "nan"}, nil
	case p.lit("Infinity"):
		return pyValue{kind: 'f', num: "inf"}, nil
	case p.lit("-Infinity"):
		return pyValue{kind: 'f', num: "-inf"}, nil
	}
	return p.number()
}

func (p *jsonParser) number() (pyValue, error) {
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return pyValue{}, errJSON
	}
	isFloat := false
	if p.i+1 < len(p.s) && p.s[p.i] == '.' && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
		p.i++
		digits()
		isFloat = true
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		save := p.i
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.i = save
		} else {
			isFloat = true
		}
	}
	text := p.s[start:p.i]
	if !isFloat {
		n, _ := new(big.Int).SetString(text, 10)
		return pyValue{kind: 'i', num: n.String()}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return pyValue{}, errJSON
	}
	return pyValue{kind: 'f', num: pyfloat.Repr(f)}, nil
}

func (p *jsonParser) str() (pyValue, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return pyValue{kind: 's', str: b.String()}, nil
		case c < 0x20:
			return pyValue{}, errJSON
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return pyValue{}, errJSON
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return pyValue{}, errJSON
				}
				if utf16.IsSurrogate(r) && strings.HasPrefix(p.s[p.i:], `\u`) {
					save := p.i
					p.i += 2
					if r2, ok := p.hex4(); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
						r = utf16.DecodeRune(r, r2)
					} else {
						p.i = save
					}
				}
				b.WriteRune(r)
			default:
				return pyValue{}, errJSON
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return pyValue{}, errJSON
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
