package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// runExport writes an archive of a store: mlrun export --tracking-uri URI
// [--experiment NAME]... [--run-id ID]... [--filter STR] -o FILE.tar.gz.
// The file appears complete or not at all ("-o -" writes to stdout).
func runExport(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	uri := trackingURIFlag(fs)
	var experiments, runIDs listFlag
	fs.Var(&experiments, "experiment", "export this experiment (by name; repeatable; default: every experiment)")
	fs.Var(&runIDs, "run-id", "export this run (repeatable; default: every run of the experiments)")
	filter := fs.String("filter", "", "export the runs matching this MLflow filter, e.g. \"metrics.rmse < 0.8\"")
	var out string
	fs.StringVar(&out, "o", "", "the archive to write (FILE.tar.gz, or - for stdout)")
	fs.StringVar(&out, "output", "", "same as -o")
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	if out == "" {
		return usagef(c.name, "-o FILE.tar.gz is required")
	}
	resolved := mlrun.ResolveTrackingURI(*uri)
	s, err := archive.OpenExisting(ctx, resolved, true)
	if err != nil {
		return err
	}
	defer s.Close()
	bar := newProgress(c.stderr, "runs")
	opts := archive.ExportOptions{Experiments: experiments, RunIDs: runIDs, Filter: *filter, Progress: bar.report()}
	report := c.stdout
	var counts archive.Counts
	var notes []string
	if out == "-" {
		report = c.stderr
		counts, notes, err = archive.Export(ctx, s, c.stdout, opts)
	} else {
		counts, notes, err = exportFile(ctx, s, out, opts)
	}
	bar.finish()
	for _, n := range notes {
		fmt.Fprintln(c.stderr, "note:", n)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(report, "exported %s to %s\n", describeCounts(counts), out)
	return nil
}

// exportFile exports into path atomically: a temporary file in the same
// directory, fsynced and renamed over path; on failure nothing is left.
func exportFile(ctx context.Context, s store.Store, path string, opts archive.ExportOptions) (archive.Counts, []string, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return archive.Counts{}, nil, err
	}
	counts, notes, err := archive.Export(ctx, s, f, opts)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return counts, notes, err
	}
	return counts, notes, atomicfile.SyncDir(dir)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func describeCounts(c archive.Counts) string {
	return strings.Join([]string{
		plural(int64(c.Experiments), "experiment", "experiments"),
		plural(int64(c.Runs), "run", "runs") + " (" + plural(c.MetricPoints, "metric point", "metric points") + ")",
		plural(int64(c.Artifacts), "artifact", "artifacts") + " (" + plural(c.ArtifactBytes, "byte", "bytes") + ")",
		plural(int64(c.LoggedModels), "logged model", "logged models"),
		plural(int64(c.RegisteredModels), "registered model", "registered models"),
		plural(int64(c.ModelVersions), "model version", "model versions"),
	}, ", ")
}

// printStats prints what an import or a conversion did, kind by kind.
func printStats(w, notes io.Writer, st archive.Stats) {
	for _, row := range []struct {
		what string
		t    archive.Tally
	}{
		{"experiments", st.Experiments}, {"runs", st.Runs}, {"artifacts", st.Artifacts},
		{"logged models", st.LoggedModels}, {"registered models", st.RegisteredModels}, {"model versions", st.ModelVersions},
	} {
		fmt.Fprintf(w, "%-18s %d imported, %d unchanged\n", row.what+":", row.t.Created, row.t.Unchanged)
	}
	fmt.Fprintf(w, "%-18s %d imported\n", "metric points:", st.MetricPoints)
	if !st.Changed() {
		fmt.Fprintln(w, "nothing to import: the destination already holds everything")
	}
	for _, n := range st.Notes {
		fmt.Fprintln(notes, "note:", n)
	}
}

// runImport imports an archive: mlrun import --tracking-uri URI
// [--mlflow-version V] FILE.tar.gz. The destination is created if missing;
// an http(s) tracking server gets the archive's runs as mlrun sync pushes
// them (run ids are the server's, the source id in a tag).
func runImport(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	uri := trackingURIFlag(fs)
	version := fs.String("mlflow-version", "", "MLflow release whose SQLite schema a new database gets (default: the newest supported)")
	pos, err := c.parse(fs, 1, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("no archive at %s", path)
	}
	dstURI := mlrun.ResolveTrackingURI(*uri)
	if isServerURI(dstURI) {
		if *version != "" {
			return usagef(c.name, "--mlflow-version applies to a new SQLite database, not to a tracking server (%s)", dstURI)
		}
		return syncArchive(ctx, c, dstURI, path)
	}
	if !archive.StoreExists(dstURI) {
		// Check the archive before creating the store, so that a bad
		// archive leaves nothing behind.
		if _, err := archive.Verify(ctx, path); err != nil {
			return err
		}
	}
	dst, err := archive.OpenDestination(ctx, dstURI, *version)
	if err != nil {
		return err
	}
	defer dst.Close()
	bar := newProgress(c.stderr, "bytes")
	st, err := archive.Import(ctx, dst, path, archive.ImportOptions{Progress: bar.report()})
	bar.finish()
	if err != nil {
		return err
	}
	printStats(c.stdout, c.stderr, st)
	return nil
}

// runConvert copies stores into one: mlrun convert [--mlflow-version V]
// SRC_URI... DST_URI.
func runConvert(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	version := fs.String("mlflow-version", "", "MLflow release whose SQLite schema a new destination database gets (default: the newest supported)")
	pos, err := c.parse(fs, 2, -1)
	if err != nil {
		return err
	}
	dstURI := pos[len(pos)-1]
	dstPath, err := storePath(dstURI)
	if err != nil {
		return err
	}
	var srcs []store.Store
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	for _, uri := range pos[:len(pos)-1] {
		if p, err := storePath(uri); err == nil && p == dstPath {
			return usagef(c.name, "the destination %s is also a source", dstURI)
		}
		s, err := archive.OpenExisting(ctx, uri, true)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
	}
	dst, err := archive.OpenDestination(ctx, dstURI, *version)
	if err != nil {
		return err
	}
	defer dst.Close()
	bar := newProgress(c.stderr, "runs")
	st, err := archive.Convert(ctx, dst, srcs, archive.ImportOptions{Progress: bar.report()})
	bar.finish()
	if err != nil {
		return err
	}
	printStats(c.stdout, c.stderr, st)
	return nil
}

// storePath returns the absolute local path of a store's URI.
func storePath(uri string) (string, error) {
	_, p, err := mlrun.ParseTrackingURI(uri)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// runGC removes deleted entities: mlrun gc --tracking-uri URI
// [--older-than DURATION] [--experiment-ids IDS] [--run-ids IDS]
// [--logged-model-ids IDS].
func runGC(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	uri := trackingURIFlag(fs)
	olderThan := fs.String("older-than", "", "keep entities deleted more recently than this, e.g. 30d, 1d2h3m4s, 1.5h (default: remove every deleted one)")
	expIDs := fs.String("experiment-ids", "", "comma-separated ids of deleted experiments to remove (default: every deleted one)")
	runIDs := fs.String("run-ids", "", "comma-separated ids of deleted runs to remove (default: every deleted one)")
	modelIDs := fs.String("logged-model-ids", "", "comma-separated ids of deleted logged models to remove (default: every deleted one)")
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	opts := archive.GCOptions{ExperimentIDs: splitIDs(*expIDs), RunIDs: splitIDs(*runIDs), LoggedModelIDs: splitIDs(*modelIDs)}
	if *olderThan != "" {
		d, err := archive.ParseOlderThan(*olderThan)
		if err != nil {
			return usagef(c.name, "--older-than: %v", err)
		}
		opts.OlderThan = d
	}
	s, err := archive.OpenExisting(ctx, mlrun.ResolveTrackingURI(*uri), false)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := archive.GC(ctx, s, opts)
	for _, id := range res.Runs {
		fmt.Fprintf(c.stdout, "Run with ID %s has been permanently deleted.\n", id)
	}
	for _, id := range res.LoggedModels {
		fmt.Fprintf(c.stdout, "Logged model with ID %s has been permanently deleted.\n", id)
	}
	for _, id := range res.Experiments {
		fmt.Fprintf(c.stdout, "Experiment with ID %s has been permanently deleted.\n", id)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(c.stderr, "note:", n)
	}
	if err != nil {
		if errors.Is(err, store.ErrInvalidParameter) {
			return err
		}
		return fmt.Errorf("gc: %w", err)
	}
	return nil
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}
