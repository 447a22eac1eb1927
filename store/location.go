package store

import (
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
)

// MaxPathElementLength is the longest element (between slashes) of an
// artifact location, in bytes: NAME_MAX of Linux, macOS and Windows file
// systems. MLflow stores a longer one but then fails to create the run's
// artifact directory ("File name too long").
const MaxPathElementLength = 255

// ValidateCreateExperiment checks the arguments of CreateExperiment (the
// name, the artifact location, every tag) and returns the artifact
// location to store (see ExperimentArtifactLocation).
func ValidateCreateExperiment(name, artifactLocation string, tags []Tag) (string, error) {
	if err := ValidateExperimentName(name); err != nil {
		return "", err
	}
	loc, err := ExperimentArtifactLocation(artifactLocation)
	if err != nil {
		return "", err
	}
	for _, t := range tags {
		if err := ValidateExperimentTag(t); err != nil {
			return "", err
		}
	}
	if err := validateKeyPaths("tag", tags, tagKey); err != nil {
		return "", err
	}
	return loc, nil
}

// ExperimentArtifactLocation checks the artifact location given to
// CreateExperiment and returns it as both backends store it: "" stays ""
// (the backend's default, <root>/<id>); a relative local path or file: URI
// is made absolute against the current directory, as MLflow's
// resolve_uri_if_local does; anything else is kept as given. The location
// is checked before and after that (see ValidateArtifactLocation).
func ExperimentArtifactLocation(loc string) (string, error) {
	if loc == "" {
		return "", nil
	}
	if err := ValidateArtifactLocation(loc); err != nil {
		return "", err
	}
	resolved, err := mlflowuri.ResolveIfLocal(loc)
	if err != nil {
		return "", Invalidf("Invalid artifact location %s: %v", quoteJSON(loc), err)
	}
	if resolved != loc {
		if err := ValidateArtifactLocation(resolved); err != nil {
			return "", err
		}
	}
	return resolved, nil
}

// ValidateArtifactLocation checks an experiment artifact location as
// MLflow's tracking server does for create_experiment
// (_validate_storage_location_uri: no fragment or ";params", no ".." in
// the query, not a runs:/ URI, at most 2048 characters), and refuses what
// MLflow would store but not use afterwards: invalid UTF-8, control
// characters (NUL makes every path call fail with "embedded null byte"),
// a path element over 255 bytes ("File name too long"), and a Windows
// device name as the URI scheme ("con:", which no artifact repository
// handles) or, on Windows, as a path element. File paths, relative paths
// and file:, s3://, gs://, mlflow-artifacts:/ ... URIs pass.
func ValidateArtifactLocation(loc string) error {
	return validateArtifactLocation(loc, runtime.GOOS == "windows")
}

func validateArtifactLocation(loc string, windows bool) error {
	bad := func(why string) error {
		return Invalidf("Invalid artifact location %s: %s", quoteJSON(loc), why)
	}
	if !utf8.ValidString(loc) {
		return bad("not valid UTF-8")
	}
	for _, r := range loc {
		if r < 0x20 || r == 0x7f {
			return bad("control characters (such as NUL or a newline) are not allowed")
		}
	}
	if utf8.RuneCountInString(loc) > MaxArtifactLocationLength {
		return Invalidf("Invalid artifact path length. The length of the artifact path cannot be greater than %d characters.", MaxArtifactLocationLength)
	}
	u := mlflowuri.Parse(loc)
	if u.Scheme == "runs" {
		return Invalidf("Artifact location cannot be a runs:/ URI. Given: '%s'", loc)
	}
	if u.Fragment != "" || u.Params != "" || strings.HasSuffix(loc, "#") {
		return bad("the URL can't include fragments or params ('#', or ';' in the last path element)")
	}
	if err := mlflowuri.ValidateQueryString(u.Query); err != nil {
		return bad("the query string must not contain '..'")
	}
	if isWindowsDeviceName(u.Scheme) {
		return bad("'" + u.Scheme + ":' is a Windows device name, not a URI scheme MLflow can store artifacts with")
	}
	seps := "/"
	if windows {
		seps = `/\`
	}
	for _, el := range strings.FieldsFunc(loc, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if len(el) > MaxPathElementLength {
			return bad("a path element is longer than 255 bytes")
		}
		if windows && isWindowsDeviceName(el) {
			return bad("'" + el + "' is a Windows device name")
		}
	}
	return nil
}

// isWindowsDeviceName reports whether a path element (or URI scheme) names
// a Windows device: CON, PRN, AUX, NUL, COM0-9, LPT0-9 (with ¹²³ too),
// CONIN$ or CONOUT$, in any case, optionally followed by an extension,
// spaces or a colon.
func isWindowsDeviceName(el string) bool {
	stem, _, _ := strings.Cut(el, ".")
	stem = strings.ToLower(strings.TrimRight(stem, " :"))
	switch stem {
	case "con", "prn", "aux", "nul", "conin$", "conout$":
		return true
	}
	if rest, ok := strings.CutPrefix(stem, "com"); ok {
		return isDeviceDigit(rest)
	}
	if rest, ok := strings.CutPrefix(stem, "lpt"); ok {
		return isDeviceDigit(rest)
	}
	return false
}

func isDeviceDigit(s string) bool {
	return len(s) == 1 && s[0] >= '0' && s[0] <= '9' || s == "¹" || s == "²" || s == "³"
}
