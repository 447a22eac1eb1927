package mlflowuri

import (
	"strings"
	"unicode/utf8"
)

// This file ports the parts of CPython 3.11's urllib.parse that MLflow's URI
// helpers rely on. The ports are literal on purpose: MLflow's behaviour for
// odd inputs (empty queries dropped, ";params" on some schemes, the "//"
// added for schemes in usesNetloc) is whatever these functions do.

// usesNetloc is urllib.parse.uses_netloc.
var usesNetloc = map[string]bool{
	"": true, "ftp": true, "http": true, "gopher": true, "nntp": true, "telnet": true,
	"imap": true, "wais": true, "file": true, "mms": true, "https": true, "shttp": true,
	"snews": true, "prospero": true, "rtsp": true, "rtsps": true, "rtspu": true, "rsync": true,
	"svn": true, "svn+ssh": true, "sftp": true, "nfs": true, "git": true, "git+ssh": true,
	"ws": true, "wss": true,
}

// usesParams is urllib.parse.uses_params.
var usesParams = map[string]bool{
	"": true, "ftp": true, "hdl": true, "prospero": true, "http": true, "imap": true,
	"https": true, "shttp": true, "rtsp": true, "rtsps": true, "rtspu": true, "sip": true,
	"sips": true, "mms": true, "sftp": true, "tel": true,
}

// parsed is urllib.parse.ParseResult.
type parsed struct {
	scheme, netloc, path, params, query, fragment string
}

func isSchemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '+' || c == '-' || c == '.'
}

// urlsplit is urllib.parse.urlsplit(url) (allow_fragments=True) without the
// IPv6 and netloc sanity checks, which only raise.
func urlsplit(url string) parsed {
	url = strings.TrimLeft(url, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"+
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	for _, b := range []string{"\t", "\r", "\n"} {
		url = strings.ReplaceAll(url, b, "")
	}
	var p parsed
	if i := strings.IndexByte(url, ':'); i > 0 && isASCIIAlpha(url[0]) {
		ok := true
		for j := 0; j < i; j++ {
			if !isSchemeChar(url[j]) {
				ok = false
				break
			}
		}
		if ok {
			p.scheme, url = strings.ToLower(url[:i]), url[i+1:]
		}
	}
	if strings.HasPrefix(url, "//") {
		p.netloc, url = splitNetloc(url, 2)
	}
	if i := strings.IndexByte(url, '#'); i >= 0 {
		url, p.fragment = url[:i], url[i+1:]
	}
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, p.query = url[:i], url[i+1:]
	}
	p.path = url
	return p
}

func isASCIIAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// splitNetloc is urllib.parse._splitnetloc.
func splitNetloc(url string, start int) (string, string) {
	delim := len(url)
	for _, c := range "/?#" {
		if w := strings.IndexRune(url[start:], c); w >= 0 && start+w < delim {
			delim = start + w
		}
	}
	return url[start:delim], url[delim:]
}

// urlparse is urllib.parse.urlparse(url).
func urlparse(url string) parsed {
	p := urlsplit(url)
	if usesParams[p.scheme] && strings.Contains(p.path, ";") {
		p.path, p.params = splitParams(p.path)
	}
	return p
}

// splitParams is urllib.parse._splitparams.
func splitParams(url string) (string, string) {
	var i int
	if slash := strings.LastIndexByte(url, '/'); slash >= 0 {
		j := strings.IndexByte(url[slash:], ';')
		if j < 0 {
			return url, ""
		}
		i = slash + j
	} else {
		i = strings.IndexByte(url, ';')
	}
	return url[:i], url[i+1:]
}

// urlunparse is urllib.parse.urlunparse.
func urlunparse(p parsed) string {
	url := p.path
	if p.params != "" {
		url = url + ";" + p.params
	}
	return urlunsplit(p.scheme, p.netloc, url, p.query, p.fragment)
}

// urlunsplit is urllib.parse.urlunsplit (3.11).
func urlunsplit(scheme, netloc, url, query, fragment string) string {
	if netloc != "" || (scheme != "" && usesNetloc[scheme] && !strings.HasPrefix(url, "//")) {
		if url != "" && url[0] != '/' {
			url = "/" + url
		}
		url = "//" + netloc + url
	}
	if scheme != "" {
		url = scheme + ":" + url
	}
	if query != "" {
		url = url + "?" + query
	}
	if fragment != "" {
		url = url + "#" + fragment
	}
	return url
}

// hostname is ParseResult.hostname ("" for Python's None).
func (p parsed) hostname() string {
	hostinfo := p.netloc
	if i := strings.LastIndexByte(hostinfo, '@'); i >= 0 {
		hostinfo = hostinfo[i+1:]
	}
	var host string
	if i := strings.IndexByte(hostinfo, '['); i >= 0 {
		host, _, _ = strings.Cut(hostinfo[i+1:], "]")
	} else {
		host, _, _ = strings.Cut(hostinfo, ":")
	}
	if host == "" {
		return ""
	}
	h, zone, hasZone := strings.Cut(host, "%")
	if hasZone {
		return strings.ToLower(h) + "%" + zone
	}
	return strings.ToLower(h)
}

// unquote is urllib.parse.unquote with UTF-8 and errors="replace".
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var out strings.Builder
	var pending []byte // percent-decoded bytes not yet flushed
	flush := func() {
		for len(pending) > 0 {
			r, size := utf8.DecodeRune(pending)
			out.WriteRune(r) // RuneError (U+FFFD) for invalid bytes, as errors="replace"
			pending = pending[size:]
		}
	}
	for i := 0; i < len(s); {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			pending = append(pending, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 3
			continue
		}
		flush()
		out.WriteByte(s[i])
		i++
	}
	flush()
	return out.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
