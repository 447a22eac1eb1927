package pyyaml

import "regexp"

// implicitResolver is one of the implicit resolvers of PyYAML's Resolver (the
// YAML 1.1 types), translated from its re.X verbose spelling, with the first
// characters PyYAML registers it for. Python's "$" also matches before a
// final newline, hence the trailing `\n?`.
type implicitResolver struct {
	first string
	re    *regexp.Regexp
}

var implicitResolvers = []implicitResolver{
	// tag:yaml.org,2002:bool
	{"yYnNtTfFoO", regexp.MustCompile(
		`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?$`)},
	// tag:yaml.org,2002:float
	{"-+0123456789.", regexp.MustCompile(
		`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
			`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
			`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
			`|[-+]?\.(?:inf|Inf|INF)` +
			`|\.(?:nan|NaN|NAN))\n?$`)},
	// tag:yaml.org,2002:int
	{"-+0123456789", regexp.MustCompile(
		`^(?:[-+]?0b[0-1_]+` +
			`|[-+]?0[0-7_]+` +
			`|[-+]?(?:0|[1-9][0-9_]*)` +
			`|[-+]?0x[0-9a-fA-F_]+` +
			`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?$`)},
	// tag:yaml.org,2002:merge
	{"<", regexp.MustCompile(`^(?:<<)\n?$`)},
	// tag:yaml.org,2002:null; also registered for the empty string, see
	// resolvesToStr.
	{"~nN", regexp.MustCompile(`^(?:~|null|Null|NULL|)\n?$`)},
	// tag:yaml.org,2002:timestamp
	{"0123456789", regexp.MustCompile(
		`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
			`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
			`(?:[Tt]|[ \t]+)[0-9][0-9]?` +
			`:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
			`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?$`)},
	// tag:yaml.org,2002:value
	{"=", regexp.MustCompile(`^(?:=)\n?$`)},
	// tag:yaml.org,2002:yaml. PyYAML registers this one "for documentation
	// purposes"; it does make the strings "!", "&" and "*" resolve to a
	// non-str tag.
	{"!&*", regexp.MustCompile(`^(?:!|&|\*)\n?$`)},
}

// resolversByFirst maps a scalar's first byte to the resolvers PyYAML tries
// for it. All registered first characters are ASCII.
var resolversByFirst = func() (m [128][]*regexp.Regexp) {
	for _, r := range implicitResolvers {
		for i := range len(r.first) {
			m[r.first[i]] = append(m[r.first[i]], r.re)
		}
	}
	return m
}()

// resolvesToStr reports whether PyYAML's resolver gives a plain scalar with
// this text the str tag. When it does not, a string with this text must be
// quoted to survive a round trip.
func resolvesToStr(s string) bool {
	if s == "" {
		return false // the null resolver is registered for ''
	}
	if s[0] >= 128 {
		return true
	}
	for _, re := range resolversByFirst[s[0]] {
		if re.MatchString(s) {
			return false
		}
	}
	return true
}
