package pysql

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pystr"
)

// ParseOffsetToken is SearchUtils.parse_start_offset_from_page_token: the
// offset in base64(json({"offset": N})). The empty token is offset 0.
func ParseOffsetToken(token string) (int, error) {
	invalid := func(format string, args ...any) (int, error) {
		return 0, &Error{Msg: fmt.Sprintf(format, args...)}
	}
	internal := func(format string, args ...any) (int, error) {
		return 0, &Error{Msg: fmt.Sprintf(format, args...), Internal: true}
	}
	if token == "" {
		return 0, nil
	}
	if !isASCII(token) {
		return internal("string argument should contain only ASCII characters")
	}
	raw, ok := pyB64Decode(token)
	if !ok {
		return invalid("Invalid page token, could not base64-decode")
	}
	v, err := pyJSONLoads(raw)
	if err != nil {
		return invalid("Invalid page token, decoded value=%s", pyBytesRepr(raw))
	}
	if v.kind != 'd' {
		return internal("'%s' object has no attribute 'get'", pyTypeName(v))
	}
	off, found := v.Get("offset")
	if !found || pyFalsy(off) {
		return invalid("Invalid page token, parsed value=%s", v.repr())
	}
	switch off.kind {
	case 'B':
		return 1, nil // True
	case 'i':
		n, err := strconv.ParseInt(off.num, 10, 64)
		if err != nil {
			// Python's int has no limit; no store holds that many rows.
			if strings.HasPrefix(off.num, "-") {
				return math.MinInt, nil
			}
			return math.MaxInt, nil
		}
		return int(n), nil
	case 'f':
		f, _ := strconv.ParseFloat(off.num, 64)
		switch {
		case math.IsNaN(f):
			return invalid("Invalid page token, not stringable nan")
		case math.IsInf(f, 0):
			return internal("cannot convert float infinity to integer")
		}
		return int(math.Trunc(f)), nil
	case 's':
		n, err := pyInt(off.str)
		if err != nil {
			return invalid("Invalid page token, not stringable %s", off.str)
		}
		return int(n), nil
	}
	return internal("int() argument must be a string, a bytes-like object or a real number, not '%s'", pyTypeName(off))
}

// Get is dict.get: the value of the last str key k.
func (v pyValue) Get(k string) (Value, bool) {
	var out pyValue
	found := false
	for i := 0; i+1 < len(v.items); i += 2 {
		if v.items[i].kind == 's' && v.items[i].str == k {
			out, found = v.items[i+1], true
		}
	}
	return out, found
}

func pyTypeName(v pyValue) string {
	switch v.kind {
	case 's':
		return "str"
	case 'i':
		return "int"
	case 'f':
		return "float"
	case 'B':
		return "bool"
	case 'N':
		return "NoneType"
	case 'l':
		return "list"
	case 'd':
		return "dict"
	case 't':
		return "tuple"
	}
	return "object"
}

func pyFalsy(v pyValue) bool {
	switch v.kind {
	case 'N':
		return true
	case 'B':
		return v.str == "False"
	case 'i':
		return v.num == "0"
	case 'f':
		f, _ := strconv.ParseFloat(v.num, 64)
		return f == 0
	case 's':
		return v.str == ""
	case 'l', 'd', 't':
		return len(v.items) == 0
	}
	return false
}

// pyB64Decode is base64.b64decode without validation: characters outside
// the alphabet are skipped, decoding stops at complete padding, and a
// partial final quantum is an error.
func pyB64Decode(s string) ([]byte, bool) {
	var out []byte
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, true
				}
			}
			continue
		}
		v := b64Value(c)
		if v < 0 {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, byte(v)
		case 1:
			quad = 2
			out = append(out, left<<2|byte(v)>>4)
			left = byte(v) & 0x0f
		case 2:
			quad = 3
			out = append(out, left<<4|byte(v)>>2)
			left = byte(v) & 0x03
		case 3:
			quad = 0
			out = append(out, left<<6|byte(v))
			left = 0
		}
	}
	return out, quad == 0
}

func b64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// pyBytesRepr is Python's repr() of bytes.
func pyBytesRepr(b []byte) string { return pystr.BytesRepr(b) }
