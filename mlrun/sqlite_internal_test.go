package mlrun

import (
	"errors"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

func TestSchemaVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"2.22.5", "2.22.5"},
		{"3.18.0", "3.18.0"},   // an exact release is taken as asked
		{"3", schema.Latest()}, // a major means the newest tested release, not 3.18.0
		{"2", "2.22.5"},
		{"3.1", "3.1.4"}, // not 3.10.x or 3.15.x
		{"3.10", "3.10.1"},
	} {
		got, err := schemaVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("schemaVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"1.30.0", "4", "3.99", "x"} {
		if _, err := schemaVersion(bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("schemaVersion(%q) error = %v, want ErrInvalidParameter", bad, err)
		}
	}
}
