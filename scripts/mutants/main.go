// Command mutants checks that the tests catch deliberate bugs. For each
// mutation listed in mutants.txt it copies the repository (tracked files
// only) to a temporary directory, applies the mutation there, runs the named
// tests of its package and reports the mutant killed (the tests failed) or
// survived (they passed). The working tree is never touched.
//
//	go run ./scripts/mutants                 # every mutation
//	go run ./scripts/mutants -run introspect # those whose name contains this
//
// Tests that need PostgreSQL or Redis read the usual AUTH_TEST_* variables.
// It exits 1 if any mutant survived or could not be applied.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

type mutation struct {
	name, file, pkg, tests string
	old, new               string
}

func main() {
	list := flag.String("list", "scripts/mutants/mutants.txt", "the mutations")
	run := flag.String("run", "", "only mutations whose name contains this (case-insensitive)")
	flag.Parse()

	muts, err := parse(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	failed := false
	for _, m := range muts {
		if !strings.Contains(strings.ToLower(m.name), strings.ToLower(*run)) {
			continue
		}
		verdict, err := check(m)
		if err != nil {
			verdict, failed = "error: "+err.Error(), true
		} else if verdict == "survived" {
			failed = true
		}
		fmt.Printf("%-9s %s (%s, %s)\n", verdict, m.name, m.file, m.tests)
	}
	if failed {
		os.Exit(1)
	}
}

// parse reads the list format documented at the top of mutants.txt.
func parse(path string) ([]mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		muts []mutation
		cur  *mutation
		body *strings.Builder
		old  strings.Builder
		new  strings.Builder
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case body == nil && (line == "" || strings.HasPrefix(line, "#")):
		case strings.HasPrefix(line, "== "):
			muts = append(muts, mutation{name: strings.TrimPrefix(line, "== ")})
			cur = &muts[len(muts)-1]
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: text before the first mutation", path, n)
		case line == "--- old":
			old.Reset()
			body = &old
		case line == "--- new":
			new.Reset()
			body = &new
		case line == "--- end":
			cur.old, cur.new, body = old.String(), new.String(), nil
		case body != nil:
			body.WriteString(line + "\n")
		default:
			key, value, ok := strings.Cut(line, ": ")
			switch {
			case ok && key == "file":
				cur.file = value
			case ok && key == "package":
				cur.pkg = value
			case ok && key == "tests":
				cur.tests = value
			default:
				return nil, fmt.Errorf("%s:%d: unexpected line %q", path, n, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, m := range muts {
		if m.file == "" || m.pkg == "" || m.tests == "" || m.old == "" {
			return nil, fmt.Errorf("%s: mutation %q lacks file, package, tests or old text", path, m.name)
		}
	}
	return muts, nil
}

// check applies m in a copy of the repository and runs its tests.
func check(m mutation) (string, error) {
	dir, err := os.MkdirTemp("", "authd-mutant-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	// The tracked files as they are in the working tree (uncommitted edits
	// included, untracked files and build output left out).
	archive := exec.Command("sh", "-c", `git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$0"`, dir)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy the repository: %v: %s", err, out)
	}
	path := filepath.Join(dir, m.file)
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if n := bytes.Count(src, []byte(m.old)); n != 1 {
		return "", fmt.Errorf("the old text occurs %d times in %s, want once", n, m.file)
	}
	if err := os.WriteFile(path, bytes.Replace(src, []byte(m.old), []byte(m.new), 1), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^("+m.tests+")$", m.pkg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return "survived", nil
	case bytes.Contains(out, []byte("--- FAIL")):
		return "killed", nil
	default:
		// A build failure or a panic outside a test says nothing of the
		// tests: report it, not a kill.
		return "", fmt.Errorf("the tests did not run: %s", lastLines(out, 5))
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
