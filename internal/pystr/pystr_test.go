package pystr

import "testing"

// The want columns are Python 3's repr(s) and json.dumps(s), as printed by
// the interpreter.
var cases = []struct{ in, repr, json string }{
	{"", `''`, `""`},
	{"plain", `'plain'`, `"plain"`},
	{"it's", `"it's"`, `"it's"`},
	{"say \"hi\"", `'say "hi"'`, `"say \"hi\""`},
	{"both ' and \"", `'both \' and "'`, `"both ' and \""`},
	{"back\\slash", `'back\\slash'`, `"back\\slash"`},
	{"tab\x09nl\x0aret\x0d", `'tab\tnl\nret\r'`, `"tab\tnl\nret\r"`},
	{"\x00\x1f\x7f", `'\x00\x1f\x7f'`, `"\u0000\u001f\u007f"`},
	{"é ü", `'é ü'`, `"\u00e9 \u00fc"`},
	{"\u0085 ", `'\x85\xa0'`, `"\u0085\u00a0"`},
	{"\u2028", `'\u2028'`, `"\u2028"`},
	{"ünï\u200bcode", `'ünï\u200bcode'`, `"\u00fcn\u00ef\u200bcode"`},
	{"😀", `'😀'`, `"\ud83d\ude00"`},
	{"�", `'�'`, `"\ufffd"`},
}

func TestRepr(t *testing.T) {
	for _, c := range cases {
		if got := Repr(c.in); got != c.repr {
			t.Errorf("Repr(%q) = %s, want %s", c.in, got, c.repr)
		}
	}
}

func TestJSONQuote(t *testing.T) {
	for _, c := range cases {
		if got := JSONQuote(c.in); got != c.json {
			t.Errorf("JSONQuote(%q) = %s, want %s", c.in, got, c.json)
		}
	}
}

// TestBytesRepr: the want column is Python 3's repr(b).
func TestBytesRepr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `b''`},
		{"plain", `b'plain'`},
		{"it's", `b"it's"`},
		{"both ' \"", `b'both \' "'`},
		{"a'\x00\xff\n\t\r\\", `b"a'\x00\xff\n\t\r\\"`},
		{"\x7f\x1f", `b'\x7f\x1f'`},
	} {
		if got := BytesRepr([]byte(c.in)); got != c.want {
			t.Errorf("BytesRepr(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
