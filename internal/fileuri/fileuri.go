// Package fileuri converts between local paths and file:// URIs exactly as
// MLflow does (pathlib.Path.as_uri and local_file_uri_to_path), so that the
// artifact locations mlrun writes are byte-identical to Python's.
package fileuri

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// FromPath returns the file:// URI of path, made absolute: every byte but
// the unreserved ones (A-Z a-z 0-9 _ . - ~) and '/' is percent-encoded, as
// Python's urllib.parse.quote does.
func FromPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("file URI of %q: %w", path, err)
	}
	return "file://" + quote(filepath.ToSlash(abs)), nil
}

func quote(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// IsFileURI reports whether uri has the file: scheme.
func IsFileURI(uri string) bool { return strings.HasPrefix(uri, "file:") }

// ToPath returns the local path of a file: URI (percent-decoded). Anything
// else is returned unchanged, as MLflow's local_file_uri_to_path does for a
// plain path. A file URI naming a remote host is an error.
func ToPath(uri string) (string, error) {
	if !IsFileURI(uri) {
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("invalid file URI %q: %w", uri, err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("file URI %q names a remote host", uri)
	}
	p := u.Path
	if u.Opaque != "" { // file:relative/path
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return "", fmt.Errorf("invalid file URI %q: %w", uri, err)
		}
	}
	return filepath.FromSlash(p), nil
}
