package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The variables table of docs/configuration.md is generated from Vars
// (go test ./internal/config -run TestConfigReference -update) and checked
// against it, so that the reference can't drift from the code: an operator
// who trusts it must never set a name authd ignores, or miss a default.

var update = flag.Bool("update", false, "rewrite the variables table of docs/configuration.md from Vars")

const (
	referencePath = "../../docs/configuration.md"
	varsBegin     = "<!-- vars:begin (generated from internal/config Vars: go test ./internal/config -run TestConfigReference -update) -->"
	varsEnd       = "<!-- vars:end -->"
)

// docGroup is one table of the reference. A variable belongs to the first
// group that names it or one of its prefixes; one that no group claims is
// listed under "Other", so a new variable is documented before anyone has
// decided where it goes.
type docGroup struct {
	title    string
	names    []string
	prefixes []string
}

var docGroups = []docGroup{
	{title: "Deployment and storage", names: []string{"AUTH_ENV", "AUTH_ADDR", "AUTH_DATA_DIR", "AUTH_DATABASE_URL", "AUTH_SECRET_KEY"}},
	{title: "Redis and replicas", names: []string{"AUTH_SINGLE_REPLICA", "AUTH_CACHE_TTL"}, prefixes: []string{"AUTH_REDIS_"}},
	{title: "Tokens, keys and sessions", names: []string{"AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_ACCESS_TOKEN_TTL", "AUTH_REFRESH_TOKEN_TTL",
		"AUTH_REFRESH_REUSE_GRACE", "AUTH_VERIFIED_TOKEN_CACHE", "AUTH_SIGNING_ALG", "AUTH_KEY_ROTATION_PERIOD", "AUTH_KEY_PUBLISH_DELAY",
		"AUTH_AUDIT_RETENTION"}, prefixes: []string{"AUTH_SESSION_"}},
	{title: "Passwords and hashing", names: []string{"AUTH_PASSWORD_MIN_LENGTH", "AUTH_HASH_CONCURRENCY", "AUTH_HASH_QUEUE_TIMEOUT",
		"AUTH_HASH_PRIORITY"}, prefixes: []string{"AUTH_ARGON2_"}},
	{title: "Rate limits and client IPs", names: []string{"AUTH_LOGIN_MAX_LOCKOUT", "AUTH_TRUSTED_PROXIES"}, prefixes: []string{"AUTH_RATE_"}},
	{title: "Mail", names: []string{"AUTH_UI_URL", "AUTH_PRODUCT_NAME", "AUTH_MAIL_TEMPLATES_DIR", "AUTH_REQUIRE_VERIFIED_EMAIL",
		"AUTH_VERIFY_TOKEN_TTL", "AUTH_RESET_TOKEN_TTL", "AUTH_MAIL_GIVE_UP_AFTER"}, prefixes: []string{"AUTH_SMTP_"}},
	{title: "Social login", names: []string{"AUTH_REDIRECT_URLS"}, prefixes: []string{"AUTH_GOOGLE_", "AUTH_GITHUB_", "AUTH_OIDC_"}},
	{title: "Operations", names: []string{"AUTH_DEBUG_ADDR", "AUTH_METRICS_ADDR", "AUTH_SHUTDOWN_DELAY", "AUTH_SHUTDOWN_TIMEOUT"}, prefixes: []string{"AUTH_LOG_"}},
}

func (g docGroup) claims(name string) bool {
	return slices.Contains(g.names, name) || slices.ContainsFunc(g.prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// renderReference returns the generated tables, one per group, each
// variable in the order of Vars.
func renderReference(vars []Var) string {
	groups := append(slices.Clone(docGroups), docGroup{title: "Other"})
	byGroup := make([][]Var, len(groups))
	for _, v := range vars {
		i := slices.IndexFunc(groups[:len(groups)-1], func(g docGroup) bool { return g.claims(v.Name) })
		if i < 0 {
			i = len(groups) - 1
		}
		byGroup[i] = append(byGroup[i], v)
	}
	var b strings.Builder
	for i, g := range groups {
		if len(byGroup[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n| variable | default | meaning |\n|---|---|---|\n", g.title)
		for _, v := range byGroup[i] {
			def := "(empty)"
			if v.Default != "" {
				def = "`" + v.Default + "`"
			}
			help := v.Help
			if v.Secret {
				help += " (secret: `authd config` masks it)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, escapeCell(help))
		}
	}
	return b.String() + "\n"
}

// escapeCell keeps a Help text one table cell: a pipe would end it, and
// <NAME> would be read as an HTML tag.
func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// docRow is one variable as the reference documents it.
type docRow struct {
	name, def string
	line      int
}

var rowPattern = regexp.MustCompile("^\\| `([^`]+)` \\| (\\(empty\\)|`[^`]*`) \\|")

// parseReference returns the rows of the generated tables, and an error for
// a table row it can't read (a hand edit that broke the format).
func parseReference(table string, firstLine int) ([]docRow, error) {
	var rows []docRow
	for i, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		m := rowPattern.FindStringSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("line %d: not a `| `NAME` | `default` or (empty) | meaning |` row: %s", firstLine+i, l)
		}
		def := ""
		if m[2] != "(empty)" {
			def = strings.Trim(m[2], "`")
		}
		rows = append(rows, docRow{name: m[1], def: def, line: firstLine + i})
	}
	return rows, nil
}

func TestConfigReference(t *testing.T) {
	b, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	head, rest, ok1 := strings.Cut(doc, varsBegin)
	table, tail, ok2 := strings.Cut(rest, varsEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s: the markers %q and %q must enclose the variables table", referencePath, varsBegin, varsEnd)
	}
	if *update {
		out := head + varsBegin + "\n" + renderReference(Vars) + varsEnd + tail
		if err := os.WriteFile(referencePath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the variables table of %s from Vars", referencePath)
		return
	}
	rows, err := parseReference(table, strings.Count(head, "\n")+1)
	if err != nil {
		t.Fatalf("%s: %v", referencePath, err)
	}
	const fix = "(go test ./internal/config -run TestConfigReference -update regenerates the table)"
	documented := make(map[string]docRow, len(rows))
	for _, r := range rows {
		if _, dup := documented[r.name]; dup {
			t.Errorf("%s:%d: %s is documented twice %s", referencePath, r.line, r.name, fix)
		}
		documented[r.name] = r
	}
	for _, v := range Vars {
		r, ok := documented[v.Name]
		switch {
		case !ok:
			t.Errorf("%s: %s, which authd reads, is missing from the table %s", referencePath, v.Name, fix)
		case r.def != v.Default:
			t.Errorf("%s:%d: %s's default is documented as %q, but Vars says %q %s", referencePath, r.line, v.Name, r.def, v.Default, fix)
		}
	}
	for _, r := range rows {
		if !slices.ContainsFunc(Vars, func(v Var) bool { return v.Name == r.name }) {
			t.Errorf("%s:%d: the table lists %s, which authd does not read %s", referencePath, r.line, r.name, fix)
		}
	}
}

// TestDocsNameOnlyKnownVariables keeps the prose honest too: every AUTH_*
// name that README.md or docs/*.md mentions is one authd reads (or an
// AUTH_OIDC_<NAME>_* or AUTH_TEST_* one), so a renamed or misspelt variable
// in the documentation fails here rather than in an operator's deployment.
func TestDocsNameOnlyKnownVariables(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../README.md")
	known := map[string]bool{}
	for _, v := range Vars {
		known[v.Name] = true
	}
	// AUTH_OIDC_<NAME>_* is written with a placeholder (<NAME>, &lt;NAME&gt;)
	// or an example provider name; AUTH_TEST_* are the test suites' servers.
	oidc := regexp.MustCompile(`^AUTH_OIDC_[A-Z0-9_-]+_(` + strings.Join(oidcSuffixes, "|") + `)$`)
	// A name followed by _* (AUTH_RATE_*) is a family: some variable must
	// start with it.
	placeholder := `OIDC_(?:<NAME>|&lt;NAME&gt;|\\<NAME\\>)_`
	name := regexp.MustCompile(`AUTH_(?:` + placeholder + `\*|(?:` + placeholder + `)?[A-Z0-9_]*[A-Z0-9](?:_\*)?)`)
	family := func(prefix string) bool {
		if prefix == "AUTH_OIDC_<NAME>_" {
			return true
		}
		for n := range known {
			if strings.HasPrefix(n, prefix) {
				return true
			}
		}
		return false
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "did you mean") {
				continue // a quote of the warning about a misspelt name
			}
			for _, n := range name.FindAllString(l, -1) {
				n = strings.NewReplacer("&lt;", "<", "&gt;", ">", `\<`, "<", `\>`, ">").Replace(n)
				switch {
				case strings.HasSuffix(n, "_*") && family(strings.TrimSuffix(n, "*")):
				case known[n], strings.HasPrefix(n, "AUTH_TEST_"), oidc.MatchString(strings.ReplaceAll(n, "<NAME>", "X")):
				default:
					t.Errorf("%s:%d: %s is not a variable authd reads", f, i+1, n)
				}
			}
		}
	}
}

// TestDocsLinks checks every relative link of README.md and docs/*.md: the
// file it names exists in the repository (nothing points outside it), and
// its #anchor, if any, is a heading of that file.
func TestDocsLinks(t *testing.T) {
	const root = "../.."
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	infra, err := filepath.Glob(filepath.Join(root, "infra", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, infra...)
	files = append(files, filepath.Join(root, "README.md"), filepath.Join(root, "infra", "README.md"), filepath.Join(root, "web", "README.md"))
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inFence := false
		for i, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "```") {
				inFence = !inFence
			}
			if inFence {
				continue
			}
			for _, m := range link.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				dest := f
				if path != "" {
					dest = filepath.Join(filepath.Dir(f), path)
				}
				abs, err := filepath.Abs(dest)
				if err != nil {
					t.Fatal(err)
				}
				rel, err := filepath.Rel(absRoot, abs)
				if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("%s:%d: %s points outside the repository", f, i+1, target)
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: %s names no file of the repository", f, i+1, target)
					continue
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s:%d: %s: an anchor into a file that is not Markdown", f, i+1, target)
					continue
				}
				if !slices.Contains(headingAnchors(t, dest), anchor) {
					t.Errorf("%s:%d: %s: no heading of %s has the anchor #%s", f, i+1, target, path, anchor)
				}
			}
		}
	}
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown file: lower case, punctuation dropped, spaces turned to hyphens.
func headingAnchors(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var anchors []string
	inFence := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		var a strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				a.WriteRune(r)
			}
		}
		anchors = append(anchors, a.String())
	}
	return anchors
}
