package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// errUsage marks a usage error (exit code 2).
var errUsage = errors.New("usage error")

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands, in the order usage shows them.
var commands = []command{
	{"init", "create an empty store (mlruns or MLflow SQLite) for an MLflow version", runInit},
	{"experiments", "list experiments", runExperiments},
	{"runs", "search runs with MLflow's filter language", runRuns},
	{"models", "list registered models with their versions, stages and aliases", runModels},
	{"schema", "tell which MLflow releases a store belongs to and whether mlrun can write it", runSchema},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mlrun <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'mlrun <command> -h' for a command's flags.")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mlrun "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, mapping errors to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseView parses --view.
func parseView(v string) (store.ViewType, error) {
	switch strings.ToLower(v) {
	case "active", "active_only":
		return store.ActiveOnly, nil
	case "deleted", "deleted_only":
		return store.DeletedOnly, nil
	case "all":
		return store.AllViews, nil
	}
	return 0, fmt.Errorf("%w: --view must be active, deleted or all, not %q", errUsage, v)
}

func openClient(ctx context.Context, uri string) (*mlrun.Client, error) {
	var opts []mlrun.Option
	if uri != "" {
		opts = append(opts, mlrun.WithTrackingURI(uri))
	}
	return mlrun.Open(ctx, opts...)
}
