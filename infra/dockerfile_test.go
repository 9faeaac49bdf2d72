package infra

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// jsonArgs decodes an exec-form argument list such as ["/authd", "serve"].
func jsonArgs(t *testing.T, in instruction) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(in.args), &args); err != nil {
		t.Fatalf("%s %s: not the exec (JSON) form: %v", in.cmd, in.args, err)
	}
	return args
}

// TestDockerfile checks the image's recipe against the module and authd:
// the Go version of go.mod, a static build, a non-root distroless runtime,
// and an entrypoint, command and HEALTHCHECK that authd accepts.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	find := func(cmd string) []instruction {
		var out []instruction
		for _, in := range ins {
			if in.cmd == cmd {
				out = append(out, in)
			}
		}
		return out
	}
	last := func(cmd string) instruction {
		t.Helper()
		all := find(cmd)
		if len(all) == 0 {
			t.Fatalf("Dockerfile has no %s", cmd)
		}
		return all[len(all)-1]
	}

	// The build stage's Go is the one go.mod asks for.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("../go.mod has no go directive")
	}
	var goVersion string
	for _, in := range ins {
		if in.cmd == "ARG" && strings.HasPrefix(in.args, "GO_VERSION=") {
			goVersion = strings.TrimPrefix(in.args, "GO_VERSION=")
		}
	}
	if goVersion != string(m[1]) {
		t.Errorf("Dockerfile ARG GO_VERSION=%s, go.mod says go %s", goVersion, m[1])
	}
	froms := find("FROM")
	if len(froms) != 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d FROM", len(froms))
	}
	if !strings.HasPrefix(froms[0].args, "golang:${GO_VERSION} ") {
		t.Errorf("build stage is FROM %s, want golang:${GO_VERSION}", froms[0].args)
	}
	if froms[1].args != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime stage is FROM %s, want gcr.io/distroless/static-debian12:nonroot", froms[1].args)
	}

	var build string
	for _, in := range find("RUN") {
		if strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=", "./cmd/authd"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step lacks %s: %s", want, build)
		}
	}

	// Numeric, so that Kubernetes' runAsNonRoot can check it; the same user
	// as the manifests' runAsUser (TestKustomize).
	if u := last("USER").args; u != "65532:65532" {
		t.Errorf("USER %s, want 65532:65532 (distroless nonroot)", u)
	}
	if p := last("EXPOSE").args; p != "8080" {
		t.Errorf("EXPOSE %s, want 8080 (AUTH_ADDR's default)", p)
	}

	entry := jsonArgs(t, last("ENTRYPOINT"))
	cmd := jsonArgs(t, last("CMD"))
	if !slices.Equal(entry, []string{"/authd"}) || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf(`ENTRYPOINT %v CMD %v, want ["/authd"] ["serve"]`, entry, cmd)
	}
	hc := last("HEALTHCHECK").args
	i := strings.Index(hc, "CMD ")
	if i < 0 {
		t.Fatalf("HEALTHCHECK %s has no CMD", hc)
	}
	check := jsonArgs(t, instruction{"HEALTHCHECK", hc[i+len("CMD "):]})
	if !slices.Equal(check, []string{"/authd", "healthcheck"}) {
		t.Errorf(`HEALTHCHECK CMD %v, want ["/authd", "healthcheck"]`, check)
	}

	// authd knows the subcommands the image runs: --help of a subcommand
	// exits 0 and of an unknown one does not.
	bin := buildAuthd(t)
	for _, sub := range [][]string{cmd, check[1:], {"migrate", "up"}} {
		args := append(append([]string(nil), sub...), "--help")
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("authd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := exec.Command(bin, "no-such-command", "--help").Run(); err == nil {
		t.Error("authd no-such-command --help exits 0: the --help check above proves nothing")
	}
}

// TestDockerignore: the build context is the repository root, which may
// hold a .env with production secrets; .git must stay in, it stamps the
// version.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, want := range []string{".env", "**/.env", "data/"} {
		if !slices.Contains(patterns, want) {
			t.Errorf("../.dockerignore does not exclude %s", want)
		}
	}
	for _, p := range patterns {
		if p == ".git" || p == ".git/" || p == "**/.git" {
			t.Errorf("../.dockerignore excludes %s: -buildvcs needs it to stamp authd's version", p)
		}
	}
}
