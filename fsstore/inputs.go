package fsstore

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// md5Hex returns the hex MD5 of the concatenated strings, as MLflow's
// _get_dataset_id and _get_dataset_input_id compute ids.
func md5Hex(parts ...string) string {
	h := md5.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LogInputs records datasets used by an active run, as MLflow's log_inputs
// does: the dataset goes to <exp>/datasets/<md5(name+digest)>/meta.yaml
// (written once per experiment), the input to
// <run>/inputs/<md5(dataset_id+run_id)>/meta.yaml (written once per run;
// logging the same dataset again changes nothing, not even its tags). Each
// directory is assembled in the staging folder and renamed into place, so
// readers never meet an input or dataset directory without its meta.yaml
// (which MLflow's get_run would fail on).
func (s *Store) LogInputs(ctx context.Context, runID string, inputs []store.DatasetInput) error {
	if err := s.enterWrite(ctx, store.ValidateLogInputs(runID, inputs)); err != nil {
		return err
	}
	defer s.leave()
	// Every document is encoded before the first write, so a request
	// fails whole or not at all (but for I/O errors).
	type pending struct {
		datasetID, inputID string
		dataset, input     []byte
	}
	var todo []pending
	for _, in := range inputs {
		datasetID := md5Hex(in.Dataset.Name, in.Dataset.Digest)
		p := pending{datasetID: datasetID, inputID: md5Hex(datasetID, runID)}
		var err error
		if p.dataset, err = encodeDataset(in.Dataset); err != nil {
			return err
		}
		if p.input, err = encodeInput(datasetID, in.Tags); err != nil {
			return err
		}
		todo = append(todo, p)
	}
	loc, m, err := s.openRun(ctx, runID)
	if err != nil {
		return err
	}
	if err := checkActive(m); err != nil {
		return err
	}
	for _, p := range todo {
		datasetDir := filepath.Join(loc.expDir, datasetsDir, p.datasetID)
		if _, err := os.Stat(datasetDir); errors.Is(err, fs.ErrNotExist) {
			if err := s.mkdirAll(filepath.Dir(datasetDir)); err != nil {
				return err
			}
			if err := s.publishMetaDir(ctx, datasetDir, p.dataset); err != nil {
				return err
			}
		}
		inputDir := filepath.Join(loc.dir, inputsDir, p.inputID)
		if _, err := os.Stat(inputDir); errors.Is(err, fs.ErrNotExist) {
			if err := s.mkdirAll(filepath.Dir(inputDir)); err != nil {
				return err
			}
			if err := s.publishMetaDir(ctx, inputDir, p.input); err != nil {
				return err
			}
		}
	}
	return nil
}

// isFileName reports whether name, read from a file of the store, names
// one entry of a directory: not empty, "." or "..", without a path
// separator or NUL. Names read from disk are checked so before they become
// paths, so that a damaged or hostile store cannot make a read or write go
// outside it.
func isFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// publishMetaDir creates dir holding only meta.yaml; an existing dir
// (another writer won) is fine.
func (s *Store) publishMetaDir(ctx context.Context, dir string, meta []byte) error {
	err := s.publishDir(ctx, dir, func(tmp string) error {
		return s.writeFile(ctx, filepath.Join(tmp, metaFile), "", meta, syncFile)
	}, nil)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// readInputs reads a run's dataset inputs, sorted by dataset name and
// digest. Inputs of other kinds (MLflow 3 model inputs) are skipped, and so
// are inputs whose dataset is missing (MLflow warns and skips them).
func (s *Store) readInputs(ctx context.Context, loc runLoc) ([]store.DatasetInput, error) {
	entries, err := os.ReadDir(filepath.Join(loc.dir, inputsDir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	var out []store.DatasetInput
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !isDirEntry(filepath.Join(loc.dir, inputsDir), e) {
			continue
		}
		path := filepath.Join(loc.dir, inputsDir, e.Name(), metaFile)
		data, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("fsstore: %w", err)
		}
		in, err := parseInput(path, data)
		if err != nil {
			if errors.Is(err, errEmptyYAML) {
				return nil, store.Corruptf("input metadata %s is empty", path)
			}
			return nil, err
		}
		if in.SourceType != vertexDataset {
			continue
		}
		if !isFileName(in.SourceID) {
			// A dataset id is one folder of the experiment's datasets/
			// (MLflow writes an md5 hex): anything else would make the
			// read leave the store.
			return nil, store.Corruptf("input metadata %s: source_id %q is not a dataset id", path, in.SourceID)
		}
		dpath := filepath.Join(loc.expDir, datasetsDir, in.SourceID, metaFile)
		ddata, err := os.ReadFile(dpath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("fsstore: %w", err)
		}
		ds, err := parseDataset(dpath, ddata)
		if err != nil {
			if errors.Is(err, errEmptyYAML) {
				return nil, store.Corruptf("dataset metadata %s is empty", dpath)
			}
			return nil, err
		}
		di := store.DatasetInput{Dataset: ds}
		for k, v := range in.Tags {
			di.Tags = append(di.Tags, store.Tag{Key: k, Value: v})
		}
		slices.SortFunc(di.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, di)
	}
	slices.SortFunc(out, func(a, b store.DatasetInput) int {
		return cmp.Or(strings.Compare(a.Dataset.Name, b.Dataset.Name), strings.Compare(a.Dataset.Digest, b.Dataset.Digest))
	})
	return out, nil
}
