package infra

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// dotenvNames returns the variables authd.env.example assigns.
func dotenvNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(string(readFile(t, "authd.env.example")), "\n") {
		if name, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

// loadCompose loads docker-compose.yml the way docker compose does, with env
// as the variables it interpolates (what infra/.env holds in use).
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"},
		cli.WithWorkingDirectory("."), cli.WithEnv(list), cli.WithName("authd"))
	if err != nil {
		t.Fatal(err)
	}
	return cli.ProjectFromOptions(context.Background(), opts)
}

// traefikDynamic is the part of Traefik's dynamic configuration the checks
// read.
type traefikDynamic struct {
	HTTP struct {
		Routers map[string]struct {
			Service     string   `json:"service"`
			Middlewares []string `json:"middlewares"`
		} `json:"routers"`
		Middlewares map[string]struct {
			ForwardAuth *struct {
				Address             string   `json:"address"`
				AuthResponseHeaders []string `json:"authResponseHeaders"`
			} `json:"forwardAuth"`
			RateLimit *struct {
				Average int `json:"average"`
			} `json:"rateLimit"`
		} `json:"middlewares"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `json:"url"`
				} `json:"servers"`
				HealthCheck *struct {
					Path string `json:"path"`
				} `json:"healthCheck"`
			} `json:"loadBalancer"`
		} `json:"services"`
	} `json:"http"`
}

// forwardAuthHeaders are the headers authd's verify endpoint answers with
// and the gateway passes to the upstream.
var forwardAuthHeaders = []string{"X-Auth-User-Id", "X-Auth-Roles", "X-Auth-Session-Id"}

// TestCompose loads the compose stack with compose-go and checks it against
// authd: its environment is a configuration authd accepts in production,
// the migration runs first, and Traefik and Prometheus reach the replicas
// where they listen.
func TestCompose(t *testing.T) {
	// The example's empty secrets keep the stack from starting.
	empty := map[string]string{}
	for _, n := range dotenvNames(t) {
		empty[n] = ""
	}
	if _, err := loadCompose(t, empty); err == nil || !strings.Contains(err.Error(), "AUTH_SECRET_KEY") {
		t.Errorf("with authd.env.example as is, loading should fail on the empty AUTH_SECRET_KEY; got %v", err)
	}
	filled := map[string]string{
		"AUTH_SECRET_KEY":        testSecret,
		"POSTGRES_PASSWORD":      "0a1b2c3d4e5f",
		"GRAFANA_ADMIN_PASSWORD": "grafana-test",
		"AUTHD_IMAGE":            "authd:test",
	}
	if names := dotenvNames(t); !slices.Equal(slices.Sorted(slices.Values(names)), []string{"AUTHD_IMAGE", "AUTH_SECRET_KEY", "GRAFANA_ADMIN_PASSWORD", "POSTGRES_PASSWORD"}) {
		t.Errorf("authd.env.example assigns %v; this test fills in a different set", names)
	}
	p, err := loadCompose(t, filled)
	if err != nil {
		t.Fatal(err)
	}

	// authd's services: the ones built from infra/Dockerfile.
	var servers []types.ServiceConfig
	var migrate *types.ServiceConfig
	for _, s := range p.Services {
		if s.Build == nil {
			continue
		}
		if s.Build.Dockerfile != "infra/Dockerfile" || s.Image != "authd:test" {
			t.Errorf("service %s builds %s as %s, want infra/Dockerfile as AUTHD_IMAGE", s.Name, s.Build.Dockerfile, s.Image)
		}
		if slices.Equal(s.Command, []string{"migrate", "up"}) {
			migrate = &s
		} else {
			servers = append(servers, s)
		}
	}
	if migrate == nil || len(servers) < 2 {
		t.Fatalf("want a migrate one-shot and two authd replicas, got %d replicas and migrate %v", len(servers), migrate != nil)
	}
	if d, ok := migrate.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("migrate must wait for a healthy postgres, depends on %+v", migrate.DependsOn)
	}
	if migrate.Restart != "no" {
		t.Errorf("migrate is a one-shot, restart is %q", migrate.Restart)
	}

	bin := buildAuthd(t)
	var metricsPort, httpPort, alias string
	for _, s := range append(servers, *migrate) {
		env := map[string]string{}
		var names []string
		for k, v := range s.Environment {
			if v == nil {
				t.Errorf("%s: %s has no value", s.Name, k)
				continue
			}
			env[k] = *v
			names = append(names, k)
		}
		checkEnvNames(t, "docker-compose.yml service "+s.Name, names)
		if env["AUTH_ENV"] != "production" {
			t.Errorf("%s: AUTH_ENV=%q, want production", s.Name, env["AUTH_ENV"])
		}
		if env["AUTH_REDIS_URL"] == "" {
			t.Errorf("%s: two replicas need a shared Redis", s.Name)
		}
		checkAuthdAccepts(t, bin, "docker-compose.yml service "+s.Name, env)
		if s.Name == migrate.Name {
			continue
		}
		if d, ok := s.DependsOn[migrate.Name]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s must wait for %s to complete successfully, depends on %+v", s.Name, migrate.Name, s.DependsOn)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: want read_only and cap_drop ALL", s.Name)
		}
		metricsPort, httpPort = portOf(t, env["AUTH_METRICS_ADDR"]), portOf(t, env["AUTH_ADDR"])
		if metricsPort == httpPort {
			t.Errorf("%s: metrics share the public port", s.Name)
		}
		edge := s.Networks["edge"]
		if edge == nil || len(edge.Aliases) != 1 {
			t.Fatalf("%s: want one alias on the edge network for Traefik's forward-auth", s.Name)
		}
		alias = edge.Aliases[0]
		// AUTH_TRUSTED_PROXIES names Traefik, so that authd sees real
		// client addresses (rate limits, audit) and nobody else can
		// claim one.
		traefik := p.Services["traefik"].Networks["edge"]
		if traefik == nil || !cidrsContain(t, env["AUTH_TRUSTED_PROXIES"], traefik.Ipv4Address) {
			t.Errorf("%s: AUTH_TRUSTED_PROXIES=%s does not name Traefik's address", s.Name, env["AUTH_TRUSTED_PROXIES"])
		}
		if !strings.HasPrefix(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger:4318") {
			t.Errorf("%s: traces go to %q, want Jaeger's OTLP/HTTP port", s.Name, env["OTEL_EXPORTER_OTLP_ENDPOINT"])
		}
		if env["AUTH_SMTP_URL"] != "smtp://mailpit:1025" {
			t.Errorf("%s: AUTH_SMTP_URL=%q, want the Mailpit catcher", s.Name, env["AUTH_SMTP_URL"])
		}
	}
	for _, name := range []string{"postgres", "redis", "traefik", "prometheus", "grafana", "jaeger", "mailpit", "whoami"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("the stack lacks %s", name)
		}
	}
	// Every file the stack mounts is in the repository.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
		}
	}

	// Traefik routes to the replicas' public port, and the forward-auth
	// middleware asks authd's verify endpoint for the three headers.
	var dyn traefikDynamic
	// A partial struct: the fields the checks read.
	if err := yaml.Unmarshal(readFile(t, "traefik/dynamic/authd.yml"), &dyn); err != nil {
		t.Fatal(err)
	}
	var fwd string
	for name, m := range dyn.HTTP.Middlewares {
		if m.ForwardAuth == nil {
			continue
		}
		fwd = name
		u, err := url.Parse(m.ForwardAuth.Address)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/api/v1/auth/verify" || u.Hostname() != alias || u.Port() != httpPort {
			t.Errorf("forwardAuth address %s, want http://%s:%s/api/v1/auth/verify", m.ForwardAuth.Address, alias, httpPort)
		}
		if !slices.Equal(m.ForwardAuth.AuthResponseHeaders, forwardAuthHeaders) {
			t.Errorf("forwardAuth passes %v, want %v", m.ForwardAuth.AuthResponseHeaders, forwardAuthHeaders)
		}
	}
	if fwd == "" {
		t.Fatal("traefik/dynamic/authd.yml has no forwardAuth middleware")
	}
	protected := 0
	for name, r := range dyn.HTTP.Routers {
		limited := false
		for _, m := range r.Middlewares {
			limited = limited || dyn.HTTP.Middlewares[m].RateLimit != nil
		}
		if !limited {
			t.Errorf("router %s has no rate limit", name)
		}
		if slices.Contains(r.Middlewares, fwd) {
			protected++
		}
	}
	if protected == 0 {
		t.Error("no router uses the forward-auth middleware")
	}
	lb := dyn.HTTP.Services["authd"].LoadBalancer
	var backends []string
	for _, s := range lb.Servers {
		u, err := url.Parse(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		backends = append(backends, u.Host)
	}
	var want []string
	for _, s := range servers {
		want = append(want, net.JoinHostPort(s.Name, httpPort))
	}
	slices.Sort(want)
	if slices.Sort(backends); !slices.Equal(backends, want) {
		t.Errorf("Traefik's authd service balances over %v, want %v", backends, want)
	}
	if lb.HealthCheck == nil || lb.HealthCheck.Path != "/readyz" {
		t.Error("Traefik's authd service should health-check /readyz, so a draining replica leaves the rotation")
	}

	// Prometheus scrapes each replica's metrics port.
	var prom struct {
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			MetricsPath   string `json:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readFile(t, "prometheus/prometheus.yml"), &prom); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "authd" {
			for _, c := range sc.StaticConfigs {
				targets = append(targets, c.Targets...)
			}
		}
	}
	want = want[:0]
	for _, s := range servers {
		want = append(want, net.JoinHostPort(s.Name, metricsPort))
	}
	slices.Sort(want)
	if slices.Sort(targets); !slices.Equal(targets, want) {
		t.Errorf("Prometheus job authd scrapes %v, want %v", targets, want)
	}
	for _, f := range prom.RuleFiles {
		if _, err := os.Stat(filepath.Join("prometheus", f)); err != nil {
			t.Errorf("prometheus.yml rule file: %v", err)
		}
	}
}

// cidrsContain reports whether ip is in one of the comma-separated CIDRs.
func cidrsContain(t *testing.T, cidrs, ip string) bool {
	t.Helper()
	addr := net.ParseIP(ip)
	for _, c := range strings.Split(cidrs, ",") {
		_, n, err := net.ParseCIDR(strings.TrimSpace(c))
		if err != nil {
			t.Errorf("AUTH_TRUSTED_PROXIES: %v", err)
			continue
		}
		if addr != nil && n.Contains(addr) {
			return true
		}
	}
	return false
}

// TestGrafanaProvisioning: Grafana in the compose stack finds the
// Prometheus data source the dashboard names, and the dashboards where the
// stack mounts them.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		} `json:"datasources"`
	}
	if err := yaml.Unmarshal(readFile(t, "grafana/provisioning/datasources/datasources.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct {
				Name, Type string
				Query      json.RawMessage
				Current    struct {
					Value string `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(readFile(t, "grafana/dashboards/authd.json"), &dash); err != nil {
		t.Fatal(err)
	}
	var chosen string
	for _, v := range dash.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" {
			chosen = v.Current.Value
		}
	}
	found := false
	for _, d := range ds.Datasources {
		if d.UID == chosen && d.Type == "prometheus" {
			found = true
			if u, err := url.Parse(d.URL); err != nil || u.Host != "prometheus:9090" {
				t.Errorf("data source %s points at %s, want the stack's prometheus:9090", d.UID, d.URL)
			}
		}
	}
	if !found {
		t.Errorf("the dashboard's default data source %q is not a provisioned Prometheus one", chosen)
	}

	var prov struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.Unmarshal(readFile(t, "grafana/provisioning/dashboards/dashboards.yml"), &prov); err != nil {
		t.Fatal(err)
	}
	p, err := loadCompose(t, map[string]string{"AUTH_SECRET_KEY": testSecret, "POSTGRES_PASSWORD": "x1", "GRAFANA_ADMIN_PASSWORD": "x2"})
	if err != nil {
		t.Fatal(err)
	}
	dashboards, _ := filepath.Abs("grafana/dashboards")
	var mounted string
	for _, v := range p.Services["grafana"].Volumes {
		if v.Source == dashboards {
			mounted = v.Target
		}
	}
	if len(prov.Providers) != 1 || mounted == "" || prov.Providers[0].Options.Path != mounted {
		t.Errorf("Grafana loads dashboards from %+v; the stack mounts grafana/dashboards at %q", prov.Providers, mounted)
	}
}
