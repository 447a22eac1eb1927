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
		return bi.Main.Version
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
