package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateArtifactLocation(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		loc     string
		ok      bool // accepted on POSIX
		windows bool // but refused on Windows (backslashes separate, device names are reserved)
	}{
		// What MLflow users use.
		{loc: "/abs/path", ok: true},
		{loc: "relative/dir", ok: true},
		{loc: "../up/mlruns", ok: true},
		{loc: "file:///tmp/mlruns", ok: true},
		{loc: "file:rel/x", ok: true},
		{loc: "s3://bucket/key/prefix", ok: true},
		{loc: "s3://bucket/a?versionId=1", ok: true},
		{loc: "gs://bucket/x", ok: true},
		{loc: "wasbs://c@acct.blob.core.windows.net/p", ok: true},
		{loc: "mlflow-artifacts:/exp", ok: true},
		{loc: "hdfs://nn:8020/x", ok: true},
		{loc: "dbfs:/databricks/mlflow", ok: true},
		{loc: "C:/Users/me/mlruns", ok: true},
		{loc: "/data/aux/x", ok: true, windows: true}, // a device name is a plain name on POSIX
		{loc: "/data/consoles/nul.d", ok: true, windows: true},
		{loc: "C:/data/auxiliary/con-fig", ok: true},
		{loc: "s3://b/k;x", ok: true}, // s3 has no ;params
		{loc: "/tmp/" + strings.Repeat("x", 255), ok: true},
		{loc: "/été/データ", ok: true},

		// What MLflow stores but cannot use afterwards.
		{loc: "/tmp/a\x00b"},
		{loc: "/tmp/a\nb"},
		{loc: "/tmp/a\tb"},
		{loc: "/tmp/\x7f"},
		{loc: "/tmp/\xff"},
		{loc: "/tmp/" + long},
		{loc: "s3://bucket/" + long + "/x"},
		{loc: "con:"},
		{loc: "CON:"},
		{loc: "nul:x"},
		{loc: "aux:/x"},
		{loc: "com1:"},
		{loc: "LPT9:/y"},
		{loc: `C:\data\con.txt\x`, ok: true, windows: true},
		{loc: "C:/data/COM1", ok: true, windows: true},
		{loc: `C:\data\` + long},
		// What MLflow's tracking server refuses.
		{loc: "runs:/0123/artifacts"},
		{loc: "file:///tmp/x#frag"},
		{loc: "/tmp/x#"},
		{loc: "/tmp/x;params"},
		{loc: "https://host/x;p"},
		{loc: "file:///tmp/x?a=../b"},
		{loc: "s3://b/k?q=%2e%2e/x"},
		{loc: "/" + strings.Repeat("a/", MaxArtifactLocationLength/2)},
	} {
		for _, windows := range []bool{false, true} {
			err := validateArtifactLocation(tc.loc, windows)
			want := tc.ok && !(windows && tc.windows)
			if (err == nil) != want {
				t.Errorf("validateArtifactLocation(%q, windows=%v) = %v, want ok=%v", tc.loc, windows, err, want)
			}
			if err != nil && !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("validateArtifactLocation(%q) = %v, want ErrInvalidParameter", tc.loc, err)
			}
		}
	}
}

// TestExperimentArtifactLocation checks the resolution both backends store:
// relative local paths made absolute (as resolve_uri_if_local, percent
// escapes decoded), URIs and absolute paths kept, and the resolved form
// checked too.
func TestExperimentArtifactLocation(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ = filepath.EvalSymlinks(wd)
	for in, want := range map[string]string{
		"":                    "",
		"/abs/x":              "/abs/x",
		"rel/x":               wd + "/rel/x",
		"./a/../b":            wd + "/a/../b",
		"rel%20dir":           wd + "/rel dir",
		"file:rel/y":          "file://" + wd + "/rel/y",
		"s3://bucket/x":       "s3://bucket/x",
		"mlflow-artifacts:/x": "mlflow-artifacts:/x",
	} {
		got, err := ExperimentArtifactLocation(in)
		if err != nil || got != want {
			t.Errorf("ExperimentArtifactLocation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"rel%00x", "file://remote-host/x", "rel/" + strings.Repeat("y", 256), "con:"} {
		if got, err := ExperimentArtifactLocation(in); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("ExperimentArtifactLocation(%q) = %q, %v; want ErrInvalidParameter", in, got, err)
		}
	}
}
