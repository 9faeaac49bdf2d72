package auth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedImports are the only packages outside the standard library the
// domain may depend on, directly or not: pure helpers with no I/O. Storage,
// caches, limiters, metrics and transports are implementations of the
// domain's interfaces, wired in by cmd/authd; importing one here would tie
// the rules to infrastructure.
var allowedImports = []string{
	"github.com/talentforge/authd/internal/auth",
	"github.com/google/uuid",
	"golang.org/x/text/",
	"golang.org/x/net/idna",
}

func TestNoInfrastructureImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list listed nothing")
	}
	for _, dep := range deps {
		ok := false
		for _, a := range allowedImports {
			if dep == a || strings.HasSuffix(a, "/") && strings.HasPrefix(dep, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("internal/auth depends on %s", dep)
		}
	}
}
