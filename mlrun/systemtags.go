package mlrun

import (
	"bufio"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// System tags MLflow sets and reads.
const (
	TagRunName         = store.RunNameTag
	TagUser            = "mlflow.user"
	TagSourceName      = "mlflow.source.name"
	TagSourceType      = "mlflow.source.type"
	TagGitCommit       = "mlflow.source.git.commit"
	TagParentRunID     = store.ParentRunTag
	TagNote            = "mlflow.note.content"
	TagLoggedArtifacts = "mlflow.loggedArtifacts"
	TagLoggedImages    = "mlflow.loggedImages"
)

// currentUser returns the user MLflow would record: the tracking username
// if set, else the login name (getpass.getuser order), else "unknown".
func currentUser() string {
	for _, k := range []string{"MLFLOW_TRACKING_USERNAME", "LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// systemTags returns the tags MLflow's default and git run contexts set.
func (c *Client) systemTags() map[string]string {
	tags := map[string]string{
		TagUser:       c.user,
		TagSourceName: sourceName(),
		TagSourceType: "LOCAL",
	}
	if wd, err := os.Getwd(); err == nil {
		if commit := gitCommit(wd); commit != "" {
			tags[TagGitCommit] = commit
		}
	}
	return tags
}

func sourceName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "unknown"
}

// gitCommit returns the commit checked out in the git work tree holding dir,
// or "" when dir is not in one. It reads .git directly: HEAD, a loose ref
// or packed-refs, following a .git file (worktrees, submodules).
func gitCommit(dir string) string {
	for d := dir; ; {
		gitDir := filepath.Join(d, ".git")
		if fi, err := os.Stat(gitDir); err == nil {
			if !fi.IsDir() {
				b, err := os.ReadFile(gitDir)
				if err != nil {
					return ""
				}
				p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
				if !ok {
					return ""
				}
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, p)
				}
				gitDir = p
			}
			return resolveHead(gitDir)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func resolveHead(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok {
		return validSHA(head)
	}
	// Worktrees keep refs in the common dir.
	dirs := []string{gitDir}
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(c))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		dirs = append(dirs, common)
	}
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(ref))); err == nil {
			return validSHA(strings.TrimSpace(string(b)))
		}
		if f, err := os.Open(filepath.Join(d, "packed-refs")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				sha, name, ok := strings.Cut(sc.Text(), " ")
				if ok && name == ref {
					f.Close()
					return validSHA(sha)
				}
			}
			f.Close()
		}
	}
	return "" // an unborn branch
}

func validSHA(s string) string {
	if len(s) != 40 && len(s) != 64 {
		return ""
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return ""
		}
	}
	return s
}
