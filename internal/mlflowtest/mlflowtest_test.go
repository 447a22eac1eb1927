package mlflowtest

import (
	"slices"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"3.10.1", "3.9.0", 1}, {"3.18.0", "3.17.2", 1}, {"2.22.5", "3.1.4", -1},
		{"3.1", "3.1.0", 0}, {"3.18.0", "3.18.0", 0}, {"3.0.0rc1", "3.0.0", 1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNewerExtras(t *testing.T) {
	t.Setenv(EnvExtra, "2.9.2 3.1.4 3.18.0")
	if got := NewerExtras([]string{"2.22.5", "3.17.2"}); !slices.Equal(got, []string{"3.18.0"}) {
		t.Errorf("NewerExtras = %q, want [3.18.0]", got)
	}
}
