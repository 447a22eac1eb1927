package fsstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mlrun-go/mlrun/store"
)

// checkKeyPaths makes sure, before a request writes anything, that each of
// n keys (key(i)) can be written as a file under dir, the metrics/, params/
// or tags/ folder of a run or model: none of its folders is a file (a
// shorter key logged before: "loss" for "loss/val"), and it is not itself a
// folder (of a longer key logged before). Either would make the request
// fail half way through, as it does in MLflow's FileStore; here it is
// store.ErrInvalidParameter (store.KeyPathConflict) with nothing written.
// (Keys of one request are checked against each other by store's
// validation, on every backend.) known, if not nil, reports keys known to
// be files (metric files open for appending), which cost no stat.
func checkKeyPaths(dir, what string, n int, key func(i int) string, known func(key string) bool) error {
	for i := range n {
		k := key(i)
		if i > 0 && k == key(i-1) || known != nil && known(k) {
			continue // a batch's points of one key come in runs
		}
		info, err := os.Stat(joinClean(dir, filepath.FromSlash(k)))
		switch {
		case err == nil && info.IsDir():
			nested := k + "/…"
			if entries, err := os.ReadDir(joinClean(dir, filepath.FromSlash(k))); err == nil && len(entries) > 0 {
				nested = k + "/" + entries[0].Name()
			}
			return store.KeyPathConflict(what, k, nested)
		case errors.Is(err, syscall.ENOTDIR):
			for j := 0; j < len(k); j++ {
				if k[j] != '/' {
					continue
				}
				if info, err := os.Stat(joinClean(dir, filepath.FromSlash(k[:j]))); err == nil && !info.IsDir() {
					return store.KeyPathConflict(what, k[:j], k)
				}
			}
			return store.KeyPathConflict(what, strings.SplitN(k, "/", 2)[0], k)
		}
	}
	return nil
}

// checkRunKeys is checkKeyPaths for a LogBatch request on the run at loc.
func (s *Store) checkRunKeys(loc runLoc, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	open := func(k string) bool { return s.files.has(fileKey{dir: loc.dir, key: k}) }
	if err := checkKeyPaths(filepath.Join(loc.dir, metricsDir), "metric", len(metrics), func(i int) string { return metrics[i].Key }, open); err != nil {
		return err
	}
	if err := checkKeyPaths(filepath.Join(loc.dir, paramsDir), "param", len(params), func(i int) string { return params[i].Key }, nil); err != nil {
		return err
	}
	return checkKeyPaths(filepath.Join(loc.dir, tagsDir), "tag", len(tags), func(i int) string { return tags[i].Key }, nil)
}
