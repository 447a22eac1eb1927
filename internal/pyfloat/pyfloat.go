// Package pyfloat formats and parses float64 values exactly like Python 3.
//
// [Repr] reproduces Python's repr(float) (which is also str(float)), the
// spelling MLflow writes into metric files, tags and YAML documents. [Parse]
// accepts the strings Python's float() constructor accepts, so values written
// by either Python or this package can be read back bit for bit.
package pyfloat

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns the string Python 3 produces for repr(f) and str(f).
//
// The result uses the shortest decimal digit string that round-trips to f.
// Numbers whose decimal exponent is below -4 or at least 16 use exponent
// notation with a signed exponent of at least two digits ("1e-05", "1e+16",
// "1.5e+300"); all other numbers use positional notation with at least one
// fractional digit ("1.0", "0.0001", "1000000000000000.0"). The special values
// are spelled "nan", "inf" and "-inf", and negative zero is "-0.0".
func Repr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	// The 'e' form carries the decimal exponent of the shortest digit string;
	// Python switches to exponent notation on exactly that exponent.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, err := strconv.Atoi(e[strings.LastIndexByte(e, 'e')+1:])
	if err != nil {
		panic("pyfloat: unexpected FormatFloat output " + e)
	}
	if exp < -4 || exp >= 16 {
		// Go and Python agree here: "d[.ddd]e±XX" with at least two
		// exponent digits.
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// ErrSyntax is wrapped by the errors [Parse] returns for strings that Python's
// float() would reject with a ValueError. It is [strconv.ErrSyntax], so
// errors.Is(err, strconv.ErrSyntax) also holds.
var ErrSyntax = strconv.ErrSyntax

// Parse converts s to a float64 the way Python 3's float(s) does.
//
// Accepted are optional surrounding whitespace (space, \t, \n, \v, \f, \r
// and the non-ASCII Unicode White_Space characters), an optional sign, and then either a decimal number
// ("3", "1.", ".5", "1e-05", "1.5E+300") or one of "nan", "inf" and
// "infinity" in any letter case. Underscores are accepted between two digits,
// as in "1_000". Out-of-range numbers overflow to ±Inf and underflow to zero
// without an error, as in Python. NaNs have the bits of Python's float("nan"),
// 0x7ff8000000000000, with the sign bit set for "-nan".
//
// Not accepted, as in Python: hexadecimal ("0x1p3"), "nan(...)" payloads,
// embedded whitespace and empty strings. Python additionally accepts
// non-ASCII Unicode decimal digits (such as "٣"); Parse does not.
func Parse(s string) (float64, error) {
	t := strings.TrimFunc(s, isSpace)
	body, neg := t, false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	sign := 1.0
	if neg {
		sign = -1
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return math.Inf(int(sign)), nil
	case "nan":
		return math.Copysign(pyNaN, sign), nil
	}
	clean, ok := cleanDecimal(body)
	if !ok {
		return 0, syntaxError(s)
	}
	if neg {
		clean = "-" + clean
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// cleanDecimal only lets through what ParseFloat accepts.
		return 0, syntaxError(s)
	}
	// On ErrRange ParseFloat returns ±Inf or ±0, which is what Python does.
	return f, nil
}

// pyNaN is the quiet NaN Python's float("nan") returns. It differs from
// math.NaN() in its payload bits.
var pyNaN = math.Float64frombits(0x7ff8000000000000)

func syntaxError(s string) error {
	return fmt.Errorf("pyfloat: could not convert string to float: %q: %w", s, ErrSyntax)
}

// isSpace reports whether Python's float() strips r: the six ASCII
// whitespace characters, and non-ASCII characters for which str.isspace()
// holds. Python's set of the latter equals Unicode's White_Space property,
// which unicode.IsSpace implements.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		return false
	}
	return unicode.IsSpace(r)
}

// cleanDecimal validates body (without sign) against Python's float grammar
//
//	number   ::= digits ["." [digits]] [exponent] | "." digits [exponent]
//	exponent ::= ("e" | "E") ["+" | "-"] digits
//	digits   ::= digit (["_"] digit)*
//
// and returns it with underscores removed.
func cleanDecimal(body string) (string, bool) {
	var b strings.Builder
	b.Grow(len(body))
	i := 0
	// digits consumes a digits production starting at i and reports how
	// many digits it saw.
	digits := func() int {
		n := 0
		for i < len(body) {
			c := body[i]
			switch {
			case '0' <= c && c <= '9':
				b.WriteByte(c)
				n++
				i++
			case c == '_' && n > 0 && i+1 < len(body) && '0' <= body[i+1] && body[i+1] <= '9':
				i++
			default:
				return n
			}
		}
		return n
	}
	mant := digits()
	if i < len(body) && body[i] == '.' {
		b.WriteByte('.')
		i++
		mant += digits()
	}
	if mant == 0 {
		return "", false
	}
	if i < len(body) && (body[i] == 'e' || body[i] == 'E') {
		b.WriteByte('e')
		i++
		if i < len(body) && (body[i] == '+' || body[i] == '-') {
			b.WriteByte(body[i])
			i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	if i != len(body) {
		return "", false
	}
	return b.String(), true
}
