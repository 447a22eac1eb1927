package mlrun

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/store"
)

// Datasets are built as MLflow 3.17.2's mlflow.data builds them (from_pandas,
// from_numpy, MetaDataset), so that what Run.LogInput records reads in
// MLflow exactly as if Python had logged the same data: the same name,
// digest, source type, source JSON, schema JSON and profile JSON.

// DatasetOption configures the Dataset* constructors.
type DatasetOption func(*datasetConfig) error

type datasetConfig struct {
	name        string
	digest      string
	sourceType  string
	source      string // JSON
	targets     *string
	predictions *string
	targetTs    []Tensor
}

// WithDatasetName names the dataset (default "dataset", as in MLflow). The
// store refuses names with spaces or newlines.
func WithDatasetName(name string) DatasetOption {
	return func(c *datasetConfig) error {
		if name == "" {
			return store.Invalidf("dataset name must not be empty")
		}
		c.name = name
		return nil
	}
}

// WithDatasetDigest sets the digest instead of computing it.
func WithDatasetDigest(digest string) DatasetOption {
	return func(c *datasetConfig) error {
		if digest == "" {
			return store.Invalidf("dataset digest must not be empty")
		}
		c.digest = digest
		return nil
	}
}

// WithDatasetSource sets where the data came from: a local path or file:
// URI (source type "local"), an http(s) URL ("http"), or an s3, r2, b2, gs,
// wasbs, abfss, ftp, sftp, hdfs or viewfs URI (that scheme), resolved as
// MLflow 3.17.2's mlflow.data source registry resolves the source argument
// of from_pandas and from_numpy (MLflow 2.22.5 does not know b2). The text is kept as given. Without it, a dataset built from
// memory gets MLflow's code source (the mlflow.user, mlflow.source.* tags a
// run gets), one built from a file gets the file's path.
func WithDatasetSource(source string) DatasetOption {
	return func(c *datasetConfig) error {
		typ, js, err := resolveDatasetSource(source)
		if err != nil {
			return err
		}
		c.sourceType, c.source = typ, js
		return nil
	}
}

// WithDatasetSourceJSON sets the source as MLflow stores it: a source type
// (e.g. "delta_table", "hugging_face") and its DatasetSource.to_json(), a
// JSON object, for sources WithDatasetSource does not resolve.
func WithDatasetSourceJSON(sourceType, sourceJSON string) DatasetOption {
	return func(c *datasetConfig) error {
		if sourceType == "" {
			return store.Invalidf("dataset source type must not be empty")
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(sourceJSON), &obj); err != nil {
			return store.Invalidf("dataset source %q is not a JSON object: %v", sourceJSON, err)
		}
		c.sourceType, c.source = sourceType, sourceJSON
		return nil
	}
}

// WithTargetColumn names the table's target column, as from_pandas'
// targets argument: the column must exist. MLflow stores it nowhere (it
// only feeds mlflow.evaluate), so neither does mlrun.
func WithTargetColumn(column string) DatasetOption {
	return func(c *datasetConfig) error {
		c.targets = &column
		return nil
	}
}

// WithPredictionColumn names the table's predictions column, as
// from_pandas' predictions argument: the column must exist, and like the
// target it is not stored.
func WithPredictionColumn(column string) DatasetOption {
	return func(c *datasetConfig) error {
		c.predictions = &column
		return nil
	}
}

// WithTargetTensors sets a tensor dataset's targets, as from_numpy's
// targets argument: one unnamed tensor (an ndarray) or named tensors (a dict
// of ndarrays). They enter the digest, schema and profile.
func WithTargetTensors(targets ...Tensor) DatasetOption {
	return func(c *datasetConfig) error {
		if len(targets) == 0 {
			return store.Invalidf("WithTargetTensors needs at least one tensor")
		}
		c.targetTs = targets
		return nil
	}
}

func newDatasetConfig(opts []DatasetOption) (*datasetConfig, error) {
	c := &datasetConfig{name: "dataset"}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// sourceOr sets the source when no option did: the file path, or (path "")
// the code source.
func (c *datasetConfig) sourceOr(path string) error {
	if c.sourceType != "" {
		return nil
	}
	if path != "" {
		typ, js, err := resolveDatasetSource(path)
		if err != nil {
			return err
		}
		c.sourceType, c.source = typ, js
		return nil
	}
	c.sourceType, c.source = "code", codeSourceJSON()
	return nil
}

func (c *datasetConfig) dataset(digest, schema, profile string) (store.Dataset, error) {
	if c.digest != "" {
		digest = c.digest
	}
	ds := store.Dataset{Name: c.name, Digest: digest, SourceType: c.sourceType, Source: c.source, Schema: schema, Profile: profile}
	if err := store.ValidateDatasetInput(store.DatasetInput{Dataset: ds}); err != nil {
		return store.Dataset{}, err
	}
	return ds, nil
}

// DatasetFromSource describes a dataset by its source alone, as MLflow's
// MetaDataset: no schema, no profile, and a digest of the name and source
// (not of the data). source is resolved as by [WithDatasetSource].
func DatasetFromSource(source string, opts ...DatasetOption) (store.Dataset, error) {
	c, err := newDatasetConfig(append([]DatasetOption{WithDatasetSource(source)}, opts...))
	if err != nil {
		return store.Dataset{}, err
	}
	if err := c.checkNotTable(); err != nil {
		return store.Dataset{}, err
	}
	if len(c.targetTs) > 0 {
		return store.Dataset{}, store.Invalidf("WithTargetTensors applies to tensor datasets only")
	}
	return c.dataset(metaDigest(c.name, c.source, c.sourceType), "", "")
}

func (c *datasetConfig) checkNotTable() error {
	if c.targets != nil || c.predictions != nil {
		return store.Invalidf("WithTargetColumn and WithPredictionColumn apply to table datasets only")
	}
	return nil
}

// artifactSourceSchemes are the URI schemes MLflow 3.17.2 registers an
// <Name>ArtifactDatasetSource for (one per artifact repository, minus
// http(s), runs, models, mlflow-artifacts and dbfs); the scheme is the
// source type. (MLflow 2.22.5 has no b2.)
var artifactSourceSchemes = []string{"s3", "r2", "b2", "gs", "wasbs", "ftp", "sftp", "hdfs", "viewfs", "abfss"}

// resolveDatasetSource is mlflow.data.dataset_source_registry's
// resolve_dataset_source for a string: it returns the source type and the
// source's to_json().
func resolveDatasetSource(raw string) (typ, js string, err error) {
	scheme, host := urlSchemeHost(raw)
	switch {
	case scheme == "http" || scheme == "https":
		return "http", "{" + pyKV("url", pyStr(raw)) + "}", nil
	case slices.Contains(artifactSourceSchemes, scheme):
		return scheme, "{" + pyKV("uri", pyStr(raw)) + "}", nil
	case scheme == "" || scheme == "file" && (host == "" || host == "." ||
		strings.HasPrefix(host, "localhost") || strings.HasPrefix(host, "127.0.0.1")):
		if raw == "" {
			return "", "", store.Invalidf("dataset source must not be empty")
		}
		return "local", "{" + pyKV("uri", pyStr(raw)) + "}", nil
	}
	return "", "", store.Invalidf("Could not find a source information resolver for the specified dataset source: %s.", raw)
}

// urlSchemeHost returns the scheme (lower case) and host name (lower case,
// without user info or port, not unescaped) of raw as Python's
// urllib.parse.urlparse sees them.
func urlSchemeHost(raw string) (scheme, host string) {
	i := strings.IndexByte(raw, ':')
	if i <= 0 {
		return "", ""
	}
	for j, r := range raw[:i] {
		isLetter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if !isLetter && (j == 0 || !('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return "", ""
		}
	}
	scheme, rest := strings.ToLower(raw[:i]), raw[i+1:]
	if netloc, ok := strings.CutPrefix(rest, "//"); ok {
		if j := strings.IndexAny(netloc, "/?#"); j >= 0 {
			netloc = netloc[:j]
		}
		if j := strings.LastIndexByte(netloc, '@'); j >= 0 {
			netloc = netloc[j+1:]
		}
		if strings.HasPrefix(netloc, "[") {
			if j := strings.IndexByte(netloc, ']'); j >= 0 {
				netloc = netloc[1:j]
			}
		} else if j := strings.IndexByte(netloc, ':'); j >= 0 {
			netloc = netloc[:j]
		}
		host = strings.ToLower(netloc)
	}
	return scheme, host
}

// codeSourceJSON is CodeDatasetSource(tags=resolve_tags()).to_json(): the
// tags a run started here gets from its context (user, source name and
// type, git commit), in MLflow's order.
func codeSourceJSON() string {
	tags := (&Client{user: currentUser()}).systemTags()
	order := []string{TagUser, TagSourceName, TagSourceType}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	kv := make([]string, 0, len(order))
	for _, k := range order {
		if v, ok := tags[k]; ok {
			kv = append(kv, pyKV(k, pyStr(v)))
		}
	}
	return "{" + pyKV("tags", "{"+strings.Join(kv, ", ")+"}") + "}"
}

// Helpers writing JSON as Python's json.dumps does by default: ", " and
// ": " separators, non-ASCII escaped.

func pyStr(s string) string { return pystr.JSONQuote(s) }

func pyKV(k, v string) string { return pystr.JSONQuote(k) + ": " + v }

func pyInt(v int64) string { return strconv.FormatInt(v, 10) }

func pyBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func pyList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

func pyInts(vs []int) string {
	items := make([]string, len(vs))
	for i, v := range vs {
		items[i] = strconv.Itoa(v)
	}
	return pyList(items)
}
