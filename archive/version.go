package archive

import "runtime/debug"

// modulePath is mlrun's Go module.
const modulePath = "github.com/mlrun-go/mlrun"

// Version returns the version of the mlrun module this program was built
// with, as the Go toolchain recorded it (a release tag, a pseudo-version,
// or "(devel)" for a build from a work tree without version control
// information).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if bi.Main.Path == modulePath {
		v := bi.Main.Version
		if v == "(devel)" || v == "" {
			// A build from a work tree: name its commit if recorded.
			rev, dirty := "", ""
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "+dirty"
					}
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" {
				return "(devel) " + rev + dirty
			}
		}
		return v
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			if d.Replace != nil && d.Replace.Version != "" {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "(unknown)"
}
