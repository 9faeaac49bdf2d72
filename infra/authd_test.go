package infra

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildAuthd builds cmd/authd of the parent module the way infra/Dockerfile
// does (CGO_ENABLED=0, -trimpath) and returns the binary's path. The go
// command's build cache makes the second build in a run cheap.
func buildAuthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "authd")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/authd")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/authd: %v\n%s", err, out)
	}
	return bin
}

// authd is a running authd: its public base URL and the base URL of its
// metrics listener.
type authd struct {
	url        string
	metricsURL string
}

// startAuthd runs `bin serve` in embedded mode (SQLite in a temporary
// directory) on loopback ports the system picks, with the metrics on a
// listener of their own as in the compose stack and Kubernetes, plus the
// given extra variables. It returns once both listeners are open; the
// process is stopped when the test ends.
func startAuthd(t *testing.T, bin string, extra ...string) authd {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve")
	// A clean environment: the developer's AUTH_* variables and a .env in
	// the working directory must not change what is tested.
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AUTH_ENV=development",
		"AUTH_DATA_DIR=" + filepath.Join(dir, "data"),
		"AUTH_ADDR=127.0.0.1:0",
		"AUTH_METRICS_ADDR=127.0.0.1:0",
		"AUTH_SHUTDOWN_DELAY=0",
	}, extra...)
	// serve logs (JSON lines) on stderr.
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() && stdout.Len() > 0 {
			t.Logf("authd stdout:\n%s", stdout.String())
		}
	})

	// authd logs "metrics served" and then "authd listening", each with the
	// address it got, once its listeners are open.
	type line struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	var a authd
	var log strings.Builder
	sc := bufio.NewScanner(logs)
	for a.url == "" && sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		var l line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Msg {
		case "metrics served":
			a.metricsURL = "http://" + l.Addr
		case "authd listening":
			a.url = "http://" + l.Addr
		}
	}
	if a.url == "" || a.metricsURL == "" {
		t.Fatalf("authd did not report both listeners; its log:\n%s", log.String())
	}
	// Keep draining the log so that authd never blocks on a full pipe.
	go func() { _, _ = io.Copy(io.Discard, logs) }()
	return a
}

// get GETs url and returns the status and body.
func get(t *testing.T, url string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// envLine is a variable assignment in a dotenv file, commented out or not
// (.env.example documents AUTH_OIDC_<NAME>_* commented out).
var envLine = regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_<>]*)=`)

// configVars returns the names of authd's configuration variables, read
// from the repository's .env.example (a test of the main module keeps it in
// step with the config package). Names with a <NAME> placeholder are
// returned as regular expressions.
func configVars(t *testing.T) (names map[string]bool, patterns []*regexp.Regexp) {
	t.Helper()
	b, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	names = map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		m := envLine.FindStringSubmatch(l)
		if m == nil || !strings.HasPrefix(m[1], "AUTH_") {
			continue
		}
		if strings.Contains(m[1], "<") {
			p := regexp.MustCompile(`<[A-Z]+>`).ReplaceAllString(regexp.QuoteMeta(m[1]), `[A-Z0-9_]+`)
			patterns = append(patterns, regexp.MustCompile("^"+p+"$"))
			continue
		}
		names[m[1]] = true
	}
	if len(names) < 20 {
		t.Fatalf("../.env.example: only %d variables found; has its format changed?", len(names))
	}
	return names, patterns
}

// otelVars are the standard OpenTelemetry SDK variables the deployment
// files may set; authd's tracing reads them through the SDK.
var otelVars = map[string]bool{
	"OTEL_SERVICE_NAME":                  true,
	"OTEL_RESOURCE_ATTRIBUTES":           true,
	"OTEL_EXPORTER_OTLP_ENDPOINT":        true,
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": true,
	"OTEL_EXPORTER_OTLP_PROTOCOL":        true,
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": true,
	"OTEL_EXPORTER_OTLP_HEADERS":         true,
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS":  true,
	"OTEL_EXPORTER_OTLP_TIMEOUT":         true,
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":  true,
	"OTEL_TRACES_SAMPLER":                true,
	"OTEL_TRACES_SAMPLER_ARG":            true,
	"OTEL_PROPAGATORS":                   true,
	"OTEL_SDK_DISABLED":                  true,
}

// checkEnvNames fails for every name that is neither an authd variable nor
// a standard OTEL_* one; where says which file or object set it.
func checkEnvNames(t *testing.T, where string, names []string) {
	t.Helper()
	vars, patterns := configVars(t)
	for _, n := range names {
		if vars[n] || otelVars[n] {
			continue
		}
		matched := false
		for _, p := range patterns {
			matched = matched || p.MatchString(n)
		}
		if !matched {
			t.Errorf("%s sets %s, which is not an authd variable (../.env.example) nor a standard OTEL_* one", where, n)
		}
	}
}

// portOf returns the port of a listen address such as ":8080".
func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return port
}

// TestAuthdBinaryIsStatic: the image's runtime is distroless/static, which
// has no C library, so the binary the Dockerfile's flags produce must not
// need one.
func TestAuthdBinaryIsStatic(t *testing.T) {
	bin := buildAuthd(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("authd built with CGO_ENABLED=0 has an ELF interpreter: it is dynamically linked and cannot run on distroless/static")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Fatalf("authd links shared libraries %v; distroless/static has none", libs)
	}
}

// authdConfig runs `bin config` with exactly env (and a working directory
// of its own, so no .env is read) and returns its error and stderr: authd
// validates the configuration as serve would, production checks included,
// and warns on stderr of every AUTH_* variable it does not read.
func authdConfig(t *testing.T, bin string, env map[string]string) (error, string) {
	t.Helper()
	cmd := exec.Command(bin, "config")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return err, stderr.String()
}

// checkAuthdAccepts fails unless authd starts with env as its whole
// configuration: valid, and no variable it would ignore.
func checkAuthdAccepts(t *testing.T, bin, where string, env map[string]string) {
	t.Helper()
	err, stderr := authdConfig(t, bin, env)
	if err != nil {
		t.Errorf("%s: authd refuses the configuration: %v\n%s", where, err, stderr)
	}
	if strings.Contains(stderr, "unknown variable") {
		t.Errorf("%s: authd would ignore variables:\n%s", where, stderr)
	}
}

// testSecret is a strong AUTH_SECRET_KEY for configurations under test.
const testSecret = "5f2b8c1d9e4a7f3b6c0d2e8a1b5f9c3d7e0a4b8c2d6f1e5a9b3c7d0e4f8a2b6c"
