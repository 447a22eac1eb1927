package store

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MLflow's limits (mlflow/utils/validation.py). Lengths count Unicode code
// points, as Python's len does.
const (
	MaxEntityKeyLength          = 250 // metric, param and tag keys
	MaxParamValueLength         = 6000
	MaxTagValueLength           = 8000
	MaxExperimentNameLength     = 500
	MaxExperimentTagKeyLength   = 250
	MaxExperimentTagValLength   = 5000
	MaxMetricsPerBatch          = 1000
	MaxParamsTagsPerBatch       = 100
	MaxEntitiesPerBatch         = 1000
	MaxDatasetNameLength        = 500
	MaxDatasetDigestLength      = 36
	MaxDatasetSourceLength      = 65535
	MaxDatasetSchemaLength      = 1048575
	MaxDatasetProfileLength     = 16777215
	MaxInputTagKeyLength        = 255
	MaxInputTagValueLength      = 500
	MaxArtifactLocationLength   = 2048
	MaxRunNameLength            = 250
	MaxExperimentsListedPerPage = 50000
)

// Run and experiment ids match MLflow's _RUN_ID_REGEX and
// _EXPERIMENT_ID_REGEX, ^[a-zA-Z0-9][\w\-]{0,255}$ and
// ^[a-zA-Z0-9][\w\-]{0,63}$, with Go's (ASCII) \w and $ matching only at
// the very end. They are checked by hand: a regexp costs more than the rest
// of a LogMetric call's validation (validate_test.go proves the checks equal
// to the regexps).
const (
	maxRunIDLength        = 1 + 255
	maxExperimentIDLength = 1 + 63
)

// idByte classifies ASCII bytes: 1 for [a-zA-Z0-9], 2 for '_' and '-';
// every other byte (including all non-ASCII bytes) is 0.
var idByte = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
		t[c-'a'+'A'] = 1
	}
	t['_'], t['-'] = 2, 2
	return t
}()

// isID reports whether id is an alphanumeric byte followed by at most
// max-1 bytes of [a-zA-Z0-9_-]. Only ASCII bytes are accepted, so bytes
// and characters count alike.
func isID(id string, max int) bool {
	if len(id) == 0 || len(id) > max || idByte[id[0]] != 1 {
		return false
	}
	for i := 1; i < len(id); i++ {
		if idByte[id[i]] == 0 {
			return false
		}
	}
	return true
}

// quoteJSON formats v the way MLflow's invalid_value does (json.dumps).
func quoteJSON(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func invalidValue(field, value, msg string) error {
	if msg == "" {
		return Invalidf("Invalid value %s for parameter '%s' supplied.", quoteJSON(value), field)
	}
	return Invalidf("Invalid value %s for parameter '%s' supplied: %s", quoteJSON(value), field, msg)
}

// isNameRune reports whether r may appear in a metric, param or tag name:
// Python's Unicode \w (letters, numbers, underscore) or one of "/.- :".
func isNameRune(r rune) bool {
	switch r {
	case '/', '.', '-', ' ', ':', '_':
		return true
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// asciiNameByte[b] reports isNameRune(rune(b)) for ASCII bytes b.
var asciiNameByte = func() (t [utf8.RuneSelf]bool) {
	for b := range t {
		t[b] = isNameRune(rune(b))
	}
	return t
}()

// validateName applies MLflow's checks for metric, param and tag names: the
// character set, and that the name is stable as a relative file path.
func validateName(field, name string) error {
	if !utf8.ValidString(name) {
		return invalidValue(field, name, "Names must be valid UTF-8.")
	}
	for i := 0; i < len(name); {
		ok := false
		if b := name[i]; b < utf8.RuneSelf {
			ok = asciiNameByte[b]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(name[i:])
			ok = isNameRune(r)
			i += size
		}
		if !ok {
			return invalidValue(field, name, "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).")
		}
	}
	norm := path.Clean(name)
	if norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return invalidValue(field, name, "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '"+norm+"'")
	}
	return nil
}

// ValidateText checks that a free-text value (a description, a source, a
// user id, a dataset field, ...) is valid UTF-8. Every string that reaches
// a store goes through it or a check that includes it, before anything is
// written: MLflow decodes every string it reads as UTF-8 (its SQL store
// fails with "Could not decode to UTF-8 column", PyYAML on the file
// store's meta.yaml), so one invalid byte makes the whole experiment, run
// or model unreadable to it.
func ValidateText(what, value string) error {
	if !utf8.ValidString(value) {
		return invalidText(what, value)
	}
	return nil
}

// invalidText is ValidateText's error, for callers that check
// utf8.ValidString themselves to format what only on failure.
func invalidText(what, value string) error {
	return Invalidf("%s must be valid UTF-8, got %s", what, quoteJSON(value))
}

func checkLength(what string, limit int, value string) error {
	if utf8.RuneCountInString(value) > limit {
		return Invalidf("'%s' exceeds the maximum length of %d characters", what, limit)
	}
	return nil
}

// ValidateMetric checks a metric point: its name, and a non-negative
// timestamp. NaN and ±Inf values are allowed, as in MLflow.
func ValidateMetric(m Metric) error {
	if err := validateName("name", m.Key); err != nil {
		return err
	}
	if err := checkLength("Metric name", MaxEntityKeyLength, m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return Invalidf("Invalid value %d for parameter 'timestamp' supplied: metric '%s'. Timestamp must be a nonnegative long (64-bit integer)", m.Timestamp, m.Key)
	}
	return nil
}

// ValidateParam checks a param's key and value length. mlrun never
// truncates: a value over 6000 characters is an error.
func ValidateParam(p Param) error {
	if err := validateName("key", p.Key); err != nil {
		return err
	}
	if err := checkLength("Param key", MaxEntityKeyLength, p.Key); err != nil {
		return err
	}
	if !utf8.ValidString(p.Value) {
		return invalidText(fmt.Sprintf("Param value for %q", p.Key), p.Value)
	}
	return checkLength("Param value", MaxParamValueLength, p.Value)
}

// ValidateTag checks a run tag's key and value length.
func ValidateTag(t Tag) error {
	if err := validateName("key", t.Key); err != nil {
		return err
	}
	if err := checkLength("key", MaxEntityKeyLength, t.Key); err != nil {
		return err
	}
	if !utf8.ValidString(t.Value) {
		return invalidText(fmt.Sprintf("Tag value for %q", t.Key), t.Value)
	}
	return checkLength("value", MaxTagValueLength, t.Value)
}

// ValidateTags checks every tag of a run or logged model (see ValidateTag),
// and that no key is a folder of another (see ValidateParams).
func ValidateTags(tags []Tag) error {
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return validateKeyPaths("tag", tags, tagKey)
}

// ValidateParams checks every param of a logged model (see ValidateParam),
// and that no key is a path prefix of another, such as "lr" and "lr/decay":
// the file store keeps each key as a file path and cannot hold both.
func ValidateParams(params []Param) error {
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
	}
	return validateKeyPaths("param", params, func(p *Param) string { return p.Key })
}

func tagKey(t *Tag) string { return t.Key }

// ValidateExperimentTag checks an experiment tag's key and value length.
func ValidateExperimentTag(t Tag) error {
	if err := validateName("key", t.Key); err != nil {
		return err
	}
	if err := checkLength("key", MaxExperimentTagKeyLength, t.Key); err != nil {
		return err
	}
	if !utf8.ValidString(t.Value) {
		return invalidText(fmt.Sprintf("Tag value for %q", t.Key), t.Value)
	}
	return checkLength("value", MaxExperimentTagValLength, t.Value)
}

// ValidateBatch checks a log-batch request before anything is written: the
// batch limits, every entity, and that no param key appears twice.
func ValidateBatch(metrics []Metric, params []Param, tags []Tag) error {
	if err := batchLimit("metrics", MaxMetricsPerBatch, len(metrics)); err != nil {
		return err
	}
	if err := batchLimit("params", MaxParamsTagsPerBatch, len(params)); err != nil {
		return err
	}
	if err := batchLimit("tags", MaxParamsTagsPerBatch, len(tags)); err != nil {
		return err
	}
	if err := batchLimit("metrics, params, and tags", MaxEntitiesPerBatch, len(metrics)+len(params)+len(tags)); err != nil {
		return err
	}
	nested := false // a metric key has a folder
	for i := range metrics {
		m := &metrics[i]
		// The checks of a key are a pure function of it: a key equal to
		// the previous point's passed them already (most batches log one
		// key at many steps).
		if i > 0 && m.Key == metrics[i-1].Key && m.Timestamp >= 0 {
			continue
		}
		if err := ValidateMetric(*m); err != nil {
			return err
		}
		nested = nested || strings.IndexByte(m.Key, '/') >= 0
	}
	if nested {
		if err := validateKeyPaths("metric", metrics, func(m *Metric) string { return m.Key }); err != nil {
			return err
		}
	}
	var seen map[string]bool
	if len(params) > 0 {
		seen = make(map[string]bool, len(params))
	}
	var dupes []string
	for _, p := range params {
		if err := ValidateParam(p); err != nil {
			return err
		}
		if seen[p.Key] {
			dupes = append(dupes, p.Key)
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return Invalidf("Duplicate parameter keys have been submitted: %q. Please ensure the request contains only one param value per param key.", dupes)
	}
	if err := validateKeyPaths("param", params, func(p *Param) string { return p.Key }); err != nil {
		return err
	}
	return ValidateTags(tags)
}

// validateKeyPaths checks that no key of items (a request's metrics,
// params or tags, got by key) is a path prefix of another, such as "loss"
// and "loss/val": the file store keeps each key as a file path under the
// run or model and cannot hold both (MLflow's FileStore fails half way
// through such a request), so neither backend accepts one. What names the
// kind of key in the error.
func validateKeyPaths[T any](what string, items []T, key func(*T) string) error {
	nested := false
	for i := range items {
		if strings.IndexByte(key(&items[i]), '/') >= 0 {
			nested = true
			break
		}
	}
	if !nested {
		return nil // the common case: no key has a folder
	}
	keys := make(map[string]bool, len(items))
	for i := range items {
		keys[key(&items[i])] = true
	}
	for k := range keys {
		for i := 0; i < len(k); i++ {
			if k[i] == '/' && keys[k[:i]] {
				return KeyPathConflict(what, k[:i], k)
			}
		}
	}
	return nil
}

// KeyPathConflict is the error for two keys of which one is a folder of
// the other ("loss" and "loss/val"), in one request or, on the file
// store, with a key logged before.
func KeyPathConflict(what, file, nested string) error {
	return Invalidf("Invalid %s key '%s': '%s' is a %s key too, and a key cannot be both a value and a folder of keys (the file store keeps each key as a file path)", what, nested, file, what)
}

func batchLimit(what string, limit, n int) error {
	if n > limit {
		return Invalidf("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", limit, what, n, what, what)
	}
	return nil
}

// ValidateExperimentName checks an experiment name: 1 to 500 characters.
func ValidateExperimentName(name string) error {
	if name == "" {
		return Invalidf("Invalid experiment name: '%s'", name)
	}
	if !utf8.ValidString(name) {
		return Invalidf("Invalid experiment name: %s. Expects valid UTF-8.", quoteJSON(name))
	}
	return checkLength("name", MaxExperimentNameLength, name)
}

// ValidateRunID checks that id could name a run.
func ValidateRunID(id string) error {
	if !isID(id, maxRunIDLength) {
		return invalidValue("run_id", id, "")
	}
	return nil
}

// ValidateExperimentID checks that id could name an experiment.
func ValidateExperimentID(id string) error {
	if !isID(id, maxExperimentIDLength) {
		return Invalidf("Invalid experiment ID: '%s'", id)
	}
	return nil
}

// ValidateRunName checks a run name's length (the SQL store's column size).
func ValidateRunName(name string) error {
	if err := ValidateText("Run name", name); err != nil {
		return err
	}
	return checkLength("run_name", MaxRunNameLength, name)
}

// ValidateRunUpdate checks the arguments of UpdateRun: the run id, a
// status that is set, a new name, and a non-negative end time.
func ValidateRunUpdate(runID string, u RunUpdate) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	if u.Status != 0 && !u.Status.Valid() {
		return Invalidf("Invalid run status %d", int(u.Status))
	}
	if u.RunName != "" {
		if err := ValidateRunName(u.RunName); err != nil {
			return err
		}
	}
	if u.EndTime != nil && *u.EndTime < 0 {
		return Invalidf("Invalid value %d for parameter 'end_time' supplied.", *u.EndTime)
	}
	return nil
}

// ValidateUserID checks the user id of a new run.
func ValidateUserID(user string) error { return ValidateText("user_id", user) }

// ValidateDatasetInput checks a dataset input against MLflow's limits.
func ValidateDatasetInput(in DatasetInput) error {
	d := in.Dataset
	if d.Name == "" {
		return Invalidf("Dataset name is required")
	}
	if d.Digest == "" {
		return Invalidf("Dataset digest is required")
	}
	if strings.ContainsAny(d.Name, " \n") {
		// The file store writes "name digest" into metric lines for
		// dataset-linked metrics, split on spaces.
		return Invalidf("Dataset name %s must not contain spaces or newlines", quoteJSON(d.Name))
	}
	for _, c := range []struct {
		what  string
		limit int
		v     string
	}{
		{"name", MaxDatasetNameLength, d.Name},
		{"digest", MaxDatasetDigestLength, d.Digest},
		{"source", MaxDatasetSourceLength, d.Source},
		{"schema", MaxDatasetSchemaLength, d.Schema},
		{"profile", MaxDatasetProfileLength, d.Profile},
	} {
		if !utf8.ValidString(c.v) {
			return invalidText("Dataset "+c.what, c.v)
		}
		if err := checkLength("dataset "+c.what, c.limit, c.v); err != nil {
			return err
		}
	}
	if d.SourceType == "" {
		return Invalidf("Dataset source_type is required")
	}
	if err := ValidateText("Dataset source_type", d.SourceType); err != nil {
		return err
	}
	for _, t := range in.Tags {
		if t.Key == "" {
			return Invalidf("Input tag key is required")
		}
		if err := ValidateText("Input tag key", t.Key); err != nil {
			return err
		}
		if !utf8.ValidString(t.Value) {
			return invalidText(fmt.Sprintf("Input tag value for %q", t.Key), t.Value)
		}
		if err := checkLength("input tag key", MaxInputTagKeyLength, t.Key); err != nil {
			return err
		}
		if err := checkLength("input tag value", MaxInputTagValueLength, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLogInputs checks the arguments of LogInputs: the run id and every
// input (see ValidateDatasetInput), all before anything is written.
func ValidateLogInputs(runID string, inputs []DatasetInput) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	for _, in := range inputs {
		if err := ValidateDatasetInput(in); err != nil {
			return err
		}
	}
	return nil
}

// ValidateArtifactPath checks a relative artifact path: no absolute path, no
// "." or ".." element, no empty element (as in "a//b"), no backslash and no
// NUL. The empty string means the artifact root and is valid.
func ValidateArtifactPath(p string) error {
	if p == "" {
		return nil
	}
	bad := func(why string) error {
		return Invalidf("Invalid artifact path %s: %s", quoteJSON(p), why)
	}
	if !utf8.ValidString(p) {
		return bad("not valid UTF-8")
	}
	if strings.HasPrefix(p, "/") {
		return bad("must be relative")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return bad("must not contain backslashes or NUL")
	}
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "":
			return bad("must not contain empty path elements")
		case ".", "..":
			return bad("must not contain '.' or '..' elements")
		}
	}
	return nil
}

// IsFinite reports whether f is neither NaN nor ±Inf.
func IsFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
