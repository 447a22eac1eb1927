package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command line that cannot be run as given (exit code 2).
type usageError struct {
	cmd string // "" for the top level
	msg string
}

func (e *usageError) Error() string {
	if e.cmd == "" {
		return e.msg + " (see 'mlrun --help')"
	}
	return e.cmd + ": " + e.msg + " (see 'mlrun " + e.cmd + " --help')"
}

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned by parse after printing a command's help (exit 0).
var errHelp = errors.New("help shown")

func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil || errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// oneLine makes an error message one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, c *cmdEnv) error
}

// cmdEnv is what a command runs with.
type cmdEnv struct {
	name           string
	args           []string
	stdout, stderr io.Writer
}

// commands lists the subcommands, in the order usage shows them. A new
// command adds a line here and a file with its run function. (It is set
// by init: the commands' help reads it.)
var commands []command

func init() { commands = commandTable() }

func commandTable() []command {
	return []command{
		{"init", "[--tracking-uri URI] [--mlflow-version V]", "create an empty store (mlruns or MLflow SQLite) for an MLflow version", runInit},
		{"experiments", "[--tracking-uri URI] [--view active|deleted|all] [--json]", "list experiments", runExperiments},
		{"runs", "[--tracking-uri URI] [--experiment NAME]... [--filter STR] [--order-by STR]... [--max-results N] [--view V] [--json]",
			"search runs with MLflow's filter language", runRuns},
		{"models", "[--tracking-uri URI] [--filter STR] [--json]", "list registered models with their versions, stages and aliases", runModels},
		{"export", "--tracking-uri URI [--experiment NAME]... [--run-id ID]... [--filter STR] -o FILE.tar.gz",
			"archive experiments, runs, artifacts, logged models and the registry into a file", runExport},
		{"import", "--tracking-uri URI [--mlflow-version V] FILE.tar.gz", "import an archive into a store, keeping ids (again: a no-op), or into an http(s) server as sync does", runImport},
		{"convert", "[--mlflow-version V] SRC_URI... DST_URI", "copy stores into one (mlruns <-> SQLite), keeping ids", runConvert},
		{"sync", "--from LOCAL_URI --to http(s)://... [--experiment NAME]... [--run-id ID]... [--filter STR]",
			"push runs logged offline to an MLflow tracking server (again: only what is new)", runSync},
		{"gc", "--tracking-uri URI [--older-than DURATION] [--experiment-ids IDS] [--run-ids IDS] [--logged-model-ids IDS]",
			"permanently remove deleted runs, experiments and logged models, as mlflow gc", runGC},
		{"schema", "[--tracking-uri URI] [--json]", "tell which MLflow releases a store belongs to and whether mlrun can write it", runSchema},
		{"version", "", "print mlrun's version and the MLflow versions it supports", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mlrun <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'mlrun <command> --help' for a command's flags. Exit codes: 0 ok, 1 failure, 2 usage error.")
	fmt.Fprintln(w, "Without --tracking-uri the store is MLflow's default: MLFLOW_TRACKING_URI, else ./mlruns if it holds experiments, else sqlite:///mlflow.db.")
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// run runs a command line. Help (mlrun --help, mlrun help [command],
// mlrun <command> --help) is printed to stdout and is no error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return usagef("", "no command given")
	}
	if isHelp(args[0]) {
		if len(args) > 1 && args[0] == "help" {
			args = []string{args[1], "--help"}
		} else {
			usage(stdout)
			return nil
		}
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, &cmdEnv{name: c.name, args: args[1:], stdout: stdout, stderr: stderr})
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		}
	}
	return usagef("", "unknown command %q", args[0])
}

// flags returns a flag set for the command, which parse reads.
func (c *cmdEnv) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("mlrun "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// trackingURIFlag adds --tracking-uri.
func trackingURIFlag(fs *flag.FlagSet) *string {
	return fs.String("tracking-uri", "", "tracking URI: an mlruns path or file: URI, or sqlite:///relative.db, sqlite:////absolute.db\n(default: MLFLOW_TRACKING_URI, else MLflow's default store)")
}

// parse parses the command's flags, which may come before, between and
// after positional arguments (after "--" everything is positional), and
// returns the positional ones, of which there must be between min and max
// (max < 0: no limit). --help prints the command's help to stdout and
// returns errHelp.
func (c *cmdEnv) parse(fs *flag.FlagSet, min, max int) ([]string, error) {
	var pos []string
	args := c.args
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help(fs)
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef(c.name, "%s", strings.TrimPrefix(err.Error(), "flag: "))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < min:
		return nil, usagef(c.name, "missing arguments: %s", c.argsLine())
	case max >= 0 && len(pos) > max:
		return nil, usagef(c.name, "unexpected argument %q", pos[max])
	}
	return pos, nil
}

func (c *cmdEnv) argsLine() string {
	for _, cmd := range commands {
		if cmd.name == c.name {
			return cmd.args
		}
	}
	return ""
}

// help prints a command's usage and flags to stdout.
func (c *cmdEnv) help(fs *flag.FlagSet) {
	for _, cmd := range commands {
		if cmd.name == c.name {
			fmt.Fprintf(c.stdout, "usage: mlrun %s %s\n\n%s.\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		}
	}
	fs.SetOutput(c.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseView parses --view.
func parseView(cmd, v string) (store.ViewType, error) {
	switch strings.ToLower(v) {
	case "active", "active_only":
		return store.ActiveOnly, nil
	case "deleted", "deleted_only":
		return store.DeletedOnly, nil
	case "all":
		return store.AllViews, nil
	}
	return 0, usagef(cmd, "--view must be active, deleted or all, not %q", v)
}

// openExisting opens the store a tracking URI names (MLflow's default
// without one), read-only, for a command that only reads: a store that
// does not exist is "no MLflow store at URI", and nothing is created.
func openExisting(ctx context.Context, uri string) (*mlrun.Client, func(), error) {
	uri = mlrun.ResolveTrackingURI(uri)
	s, err := archive.OpenExisting(ctx, uri, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := mlrun.Open(ctx, mlrun.WithStore(s), mlrun.WithTrackingURI(uri))
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return c, func() { s.Close() }, nil
}
