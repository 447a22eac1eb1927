package store

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The regexps MLflow validates ids with (mlflow/utils/validation.py), as Go
// reads them: \w is ASCII [0-9A-Za-z_], and $ matches only at the end of
// the text (Python's $ would also match before a final "\n"; MLflow's
// server never sees such an id in a path, and mlrun rejects it).
var (
	refRunIDRegex        = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	refExperimentIDRegex = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,63}$`)
)

func checkIDEquivalence(t *testing.T, s string) {
	t.Helper()
	if got, want := ValidateRunID(s) == nil, refRunIDRegex.MatchString(s); got != want {
		t.Fatalf("ValidateRunID(%q) accepts=%v, regexp %v", s, got, want)
	}
	if got, want := ValidateExperimentID(s) == nil, refExperimentIDRegex.MatchString(s); got != want {
		t.Fatalf("ValidateExperimentID(%q) accepts=%v, regexp %v", s, got, want)
	}
}

// TestIDChecksMatchRegexps proves the hand-written id checks equal to
// MLflow's regexps: exhaustively on every string of up to 3 bytes over an
// alphabet that covers each class and its neighbours, on every single byte
// value in every position class, at and around both length limits, and on
// 300,000 random strings.
func TestIDChecksMatchRegexps(t *testing.T) {
	// Class boundaries of [a-zA-Z0-9_-] and their neighbours, separators,
	// whitespace, and non-ASCII (valid and invalid UTF-8).
	alphabet := []string{
		"0", "9", "a", "z", "A", "Z", "_", "-", "m", "5",
		"/", ":", "@", "[", "`", "{", ".", " ", "\n", "\t", "\x00", "\x7f",
		"é", "ß", "\u0660", "\uff10", "\xff", "\x80", "\xc3",
	}
	var rec func(prefix string, depth int)
	rec = func(prefix string, depth int) {
		checkIDEquivalence(t, prefix)
		if depth == 0 {
			return
		}
		for _, a := range alphabet {
			rec(prefix+a, depth-1)
		}
	}
	rec("", 3)

	// Every byte value first, in the middle and last.
	for b := range 256 {
		c := string([]byte{byte(b)})
		for _, s := range []string{c, c + "abc", "a" + c, "a" + c + "b", "ab" + c} {
			checkIDEquivalence(t, s)
		}
	}

	// Lengths around the limits, with and without a bad byte at the end,
	// a trailing newline, or a multi-byte character.
	for n := 0; n <= 300; n++ {
		for _, body := range []string{strings.Repeat("a", n), strings.Repeat("-", n), strings.Repeat("0_", n)[:n]} {
			for _, s := range []string{body, "a" + body, "Z" + body, "_" + body, "a" + body + "\n", "a" + body + "é", "a" + body + "!"} {
				checkIDEquivalence(t, s)
			}
		}
	}

	// Random strings: mostly valid characters (so that long matches are
	// common), lengths spread over the limits.
	n := 300_000
	if testing.Short() {
		n = 30_000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const valid = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
	var b strings.Builder
	for range n {
		b.Reset()
		n := rng.IntN(270)
		if rng.IntN(4) == 0 {
			n = rng.IntN(6)
		}
		for range n {
			if rng.IntN(50) == 0 {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			} else {
				b.WriteByte(valid[rng.IntN(len(valid))])
			}
		}
		checkIDEquivalence(t, b.String())
	}
}

// TestIDErrors keeps the errors of the id checks.
func TestIDErrors(t *testing.T) {
	err := ValidateRunID("a/b")
	if !errors.Is(err, ErrInvalidParameter) || err.Error() != `Invalid value "a/b" for parameter 'run_id' supplied.` {
		t.Errorf("ValidateRunID: %v", err)
	}
	err = ValidateExperimentID("")
	if !errors.Is(err, ErrInvalidParameter) || err.Error() != `Invalid experiment ID: ''` {
		t.Errorf("ValidateExperimentID: %v", err)
	}
}

// refValidateName is validateName as first written: a rune loop over
// isNameRune.
func refValidateNameChars(name string) bool {
	for _, r := range name {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

// TestNameCharsFastPath checks validateName's ASCII table against
// isNameRune, on every rune below U+0800 and on random strings mixing ASCII
// and non-ASCII characters.
func TestNameCharsFastPath(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if !utf8.ValidString(s) {
			return
		}
		err := validateName("name", s)
		charsOK := err == nil || !strings.Contains(err.Error(), "Names may only contain")
		if want := refValidateNameChars(s); charsOK != want {
			t.Fatalf("validateName(%q): %v; character check should give %v", s, err, want)
		}
	}
	for r := rune(0); r < 0x800; r++ {
		c := string(r)
		check(c)
		check("a" + c + "b")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Z", "0", "_", "-", ".", "/", " ", ":", "!", "\n", "é", "\u0660", "²", "日本", "\U0001F600", "\u00a0"}
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		check(b.String())
	}
}

// TestValidateBatchRepeatedKeys checks that skipping the checks of a key
// equal to the previous point's keeps every error.
func TestValidateBatchRepeatedKeys(t *testing.T) {
	ms := []Metric{{Key: "loss", Timestamp: 1}, {Key: "loss", Timestamp: 2}, {Key: "loss", Timestamp: -1}}
	want := ValidateMetric(ms[2])
	if err := ValidateBatch(ms, nil, nil); err == nil || err.Error() != want.Error() {
		t.Errorf("negative timestamp after a repeated key: %v, want %v", err, want)
	}
	ms = []Metric{{Key: "bad!"}, {Key: "bad!"}}
	want = ValidateMetric(ms[0])
	if err := ValidateBatch(ms, nil, nil); err == nil || err.Error() != want.Error() {
		t.Errorf("bad repeated key: %v, want %v", err, want)
	}
	ms = []Metric{{Key: "a"}, {Key: "a"}, {Key: "b/../c"}}
	want = ValidateMetric(ms[2])
	if err := ValidateBatch(ms, nil, nil); err == nil || err.Error() != want.Error() {
		t.Errorf("bad key after a repeated key: %v, want %v", err, want)
	}
	if err := ValidateBatch([]Metric{{Key: "a"}, {Key: "a"}, {Key: "b"}, {Key: "b"}}, nil, nil); err != nil {
		t.Errorf("valid batch: %v", err)
	}
}
