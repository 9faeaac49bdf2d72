package config

import (
	"cmp"
	"slices"
	"strings"
)

// UnknownVar is an AUTH_* variable authd does not read: usually a typo,
// which would otherwise leave the setting it meant at its default.
type UnknownVar struct {
	Name       string
	Source     string // "environment" or the .env file's path
	Suggestion string // the known name closest to Name; "" when none is close
}

// oidcSuffixes are the variables each AUTH_OIDC_PROVIDERS entry takes.
var oidcSuffixes = []string{"ISSUER", "CLIENT_ID", "CLIENT_SECRET", "SCOPES", "DISPLAY_NAME"}

// KnownNames returns every variable name c reads: Vars, and the
// AUTH_OIDC_<NAME>_* variables of the providers AUTH_OIDC_PROVIDERS lists.
func (c *Config) KnownNames() []string {
	names := make([]string, 0, len(Vars)+len(oidcSuffixes)*len(c.Social.OIDC))
	for _, v := range Vars {
		names = append(names, v.Name)
	}
	for _, p := range c.Social.OIDC {
		for _, s := range oidcSuffixes {
			names = append(names, oidcVar(p.Name, s))
		}
	}
	return names
}

// UnknownVars returns the AUTH_* variables of environ (KEY=value pairs, as
// os.Environ gives them) and of the .env file Load read that authd does not
// read, each with a suggestion, environment first, each source sorted by
// name. AUTH_TEST_* variables (the test suites') are not reported. A
// lower-case auth_* name is reported too: the environment is case-sensitive.
func (c *Config) UnknownVars(environ []string) []UnknownVar {
	known := c.KnownNames()
	isKnown := make(map[string]bool, len(known))
	for _, n := range known {
		isKnown[n] = true
	}
	var out []UnknownVar
	add := func(source string, names []string) {
		start := len(out)
		for _, n := range names {
			up := strings.ToUpper(n)
			if !strings.HasPrefix(up, "AUTH_") || strings.HasPrefix(up, "AUTH_TEST_") || isKnown[n] {
				continue
			}
			out = append(out, UnknownVar{Name: n, Source: source, Suggestion: Suggest(n, known)})
		}
		slices.SortFunc(out[start:], func(a, b UnknownVar) int { return cmp.Compare(a.Name, b.Name) })
	}
	env := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		env = append(env, name)
	}
	add("environment", env)
	add(c.dotenvPath, c.dotenvNames)
	return out
}

// Suggest returns the name of known closest to name, ignoring case, by
// Damerau-Levenshtein distance (optimal string alignment: an insertion,
// deletion, substitution or swap of two adjacent letters each count one),
// or "" when even the closest is too far to be the one meant: more than one
// edit per six characters of name, at least one and at most three. Ties go
// to the earlier name of known.
func Suggest(name string, known []string) string {
	up := strings.ToUpper(name)
	limit := max(1, min(3, len(up)/6))
	best, bestD := "", limit+1
	for _, k := range known {
		if d := distance(up, strings.ToUpper(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the optimal-string-alignment distance between a and b, by
// byte (variable names are ASCII).
func distance(a, b string) int {
	// Three rows: the one before the previous one for transpositions.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
