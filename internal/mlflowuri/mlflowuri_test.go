package mlflowuri

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestAppendResolve checks ResolveIfLocal + AppendPath(..., "0") against
// values printed by MLflow 3.17.2 (and 2.22.5, identical) on CPython 3.11;
// "CWD" stands for the working directory. The live comparison with MLflow is
// TestExperimentArtifactLocationMatchesMLflow in sqlstore/schema.
func TestAppendResolve(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("expected values are POSIX")
	}
	cases := map[string]string{
		"./mlruns":                 "CWD/mlruns/0",
		"mlruns/":                  "CWD/mlruns/0",
		"a/./b//c/":                "CWD/a/b/c/0",
		"../up":                    "CWD/../up/0",
		".":                        "CWD/0",
		"/abs/path/":               "/abs/path/0",
		"//double/slash":           "//double/slash/0",
		"file:rel/x":               "file://CWD/rel/x/0",
		"file:///abs/x?q=1#frag":   "file:///abs/x/0?q=1#frag",
		"s3://bucket":              "s3://bucket/0",
		"s3://bucket/a?x=1":        "s3://bucket/a/0?x=1",
		"mlflow-artifacts:/":       "mlflow-artifacts:/0",
		"mlflow-artifacts:":        "mlflow-artifacts:0",
		"http://h/p;params":        "http://h/p/0;params",
		"https://h/p?a=b;c":        "https://h/p/0?a=b;c",
		"c:/x":                     "c:/x/0",
		"runs:/abc/model":          "runs:/abc/model/0",
		"/a%20b":                   "/a%20b/0",
		"file:///a%20b/c":          "file:///a%20b/c/0",
		"s3://b/p?x=..%2f":         "ERROR",
		"file://remote-host/share": "ERROR",
	}
	dir := t.TempDir()
	t.Chdir(dir)
	cwd, err := Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for root, want := range cases {
		want = strings.ReplaceAll(want, "CWD", cwd)
		got, err := ResolveIfLocal(root)
		if err == nil {
			got, err = AppendPath(got, "0")
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Errorf("%q: error %v does not wrap ErrInvalidURI", root, err)
			}
			got = "ERROR"
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", root, got, want)
		}
	}
	def, err := DefaultArtifactRoot()
	if err != nil || def != cwd+"/mlruns" {
		t.Errorf("DefaultArtifactRoot() = %q, %v; want %q", def, err, cwd+"/mlruns")
	}
}

func TestAppendPathSegments(t *testing.T) {
	for _, tc := range [][3]string{
		{"/a/0", "run1/artifacts", "/a/0/run1/artifacts"},
		{"/a/0/", "/run1", "/a/0/run1"},
		{"s3://b/0", "r/artifacts", "s3://b/0/r/artifacts"},
		{"mlflow-artifacts:/0", "r/artifacts", "mlflow-artifacts:/0/r/artifacts"},
		{"", "x", "x"},
	} {
		got, err := AppendPath(tc[0], tc[1])
		if err != nil || got != tc[2] {
			t.Errorf("AppendPath(%q, %q) = %q, %v; want %q", tc[0], tc[1], got, err, tc[2])
		}
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		"a%20b": "a b", "%": "%", "%2": "%2", "%zz": "%zz", "%C3%A9": "é", "%FF": "\uFFFD", "x%2Fy": "x/y",
	} {
		if got := unquote(in); got != want {
			t.Errorf("unquote(%q) = %q, want %q", in, got, want)
		}
	}
}
