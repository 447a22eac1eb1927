package fileuri

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFromPathMatchesPython(t *testing.T) {
	paths := []string{"/tmp/mlruns/0", "/tmp/a b:c@d+e,f;g=h&i$j!k~l(m)n*o'p%q#r?s[t]u é名", "/x/y_z.-~"}
	want := map[string]string{
		"/tmp/mlruns/0": "file:///tmp/mlruns/0",
		"/x/y_z.-~":     "file:///x/y_z.-~",
	}
	for _, p := range paths {
		got, err := FromPath(p)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[p]; ok && got != w {
			t.Errorf("FromPath(%q) = %q, want %q", p, got, w)
		}
		back, err := ToPath(got)
		if err != nil || back != p {
			t.Errorf("ToPath(%q) = %q, %v; want %q", got, back, err, p)
		}
		py, err := exec.LookPath("python3")
		if err != nil {
			continue
		}
		out, err := exec.Command(py, "-c", "import pathlib,sys; print(pathlib.Path(sys.argv[1]).as_uri())", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(string(out), "\n"); got != w {
			t.Errorf("FromPath(%q) = %q, Python says %q", p, got, w)
		}
	}
}

func TestToPath(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path":        "/plain/path",
		"file:///a%20b/c":    "/a b/c",
		"file://localhost/a": "/a",
		"file:rel/x":         "rel/x",
	} {
		got, err := ToPath(in)
		if err != nil || got != want {
			t.Errorf("ToPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ToPath("file://host/a"); err == nil {
		t.Error("ToPath of a remote host: want error")
	}
}
