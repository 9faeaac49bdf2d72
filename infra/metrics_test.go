package infra

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// notScraped are metrics authd exports that the scripted flow of
// TestMetricNames cannot make appear (a labelled counter is exported once a
// label value is first counted), with the reason. Any other name the
// alerts or the dashboard use must be in the scrape.
var notScraped = map[string]string{
	"authd_mail_failed_total":   "counted on a failed delivery; the flow's mail goes to the log",
	"authd_social_logins_total": "counted on a social login; the flow configures no provider",
	"up":                        "Prometheus' own per-target metric",
}

// queryNames returns the metric names a PromQL expression selects.
func queryNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v in %s", where, err, expr)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("%s: a selector names no metric in %s", where, expr)
		}
		names = append(names, name)
		return nil
	})
	if len(names) == 0 {
		t.Errorf("%s: %s selects no metric", where, expr)
	}
	return names
}

// grafanaVar matches Grafana's variables in a query; they are replaced with
// something PromQL parses before the query is.
var grafanaVar = regexp.MustCompile(`\$(__rate_interval|__interval|__range)|\$\{?[a-z_]+\}?`)

func grafanaToPromQL(q string) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(v string) string {
		if strings.HasPrefix(v, "$__") {
			return "5m"
		}
		return "x"
	})
}

// labelValues matches a Grafana variable query label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_]+\)$`)

// usedMetrics returns every metric name the alert rules and the dashboard
// query, each with where it is used.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		for _, n := range queryNames(t, where, expr) {
			used[n] = append(used[n], where)
		}
	}

	groups, errs := rulefmt.ParseFile("prometheus/alerts.yml", false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			add("alert "+r.Alert, r.Expr)
		}
	}

	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(readFile(t, "grafana/dashboards/authd.json"), &dash); err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string            `json:"title"`
		Type    string            `json:"type"`
		Panels  []json.RawMessage `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	queries := 0
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("dashboard panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				queries++
				add("panel "+p.Title, grafanaToPromQL(tg.Expr))
			}
		}
	}
	walk(dash.Panels)
	if queries < 20 {
		t.Errorf("the dashboard has %d queries; is it the full one?", queries)
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatal(err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("dashboard variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
			continue
		}
		add("variable "+v.Name, grafanaToPromQL(m[1]))
	}
	return used
}

// exported parses Prometheus' text exposition and returns the sample names
// it may contain: each family's name, and for histograms and summaries
// the _bucket, _sum and _count series.
func exported(body []byte) map[string]bool {
	names := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" || f[3] == "summary" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f[2]+s] = true
			}
		}
	}
	return names
}

// postJSON posts body to url and decodes the answer into out, failing
// unless the status is want.
func postJSON(t *testing.T, url string, body any, want int, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", url, resp.StatusCode, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
	}
}

// TestMetricNames runs a scripted flow against authd (with Redis, for the
// Redis metrics), scrapes its metrics port, and checks that every metric
// the alert rules and the Grafana dashboard query is one authd exports. On
// the way it checks the forward-auth answer the gateways rely on.
func TestMetricNames(t *testing.T) {
	redisURL := os.Getenv("AUTH_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
			t.Fatal("AUTH_TEST_REDIS_URL is not set and AUTH_TEST_REQUIRE_SERVERS=1")
		}
		t.Skip("set AUTH_TEST_REDIS_URL: authd exports its Redis metrics only with Redis")
	}
	used := usedMetrics(t)

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	a := startAuthd(t, buildAuthd(t),
		"AUTH_REDIS_URL="+redisURL,
		"AUTH_REDIS_KEY_PREFIX=infra-test-"+hex.EncodeToString(b[:])+":",
		// A refresh token presented twice is reuse at once, not a
		// concurrent refresh within the grace interval.
		"AUTH_REFRESH_REUSE_GRACE=0",
		// The second failed login is refused by the account limit, so
		// that the rate-limit counter appears.
		"AUTH_RATE_LOGIN_ACCOUNT=1/15m",
	)

	type tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	cred := map[string]string{"email": "infra-" + hex.EncodeToString(b[:]) + "@example.com", "password": "Infra-check-4821-zebra"}
	postJSON(t, a.url+"/api/v1/auth/register", cred, http.StatusCreated, nil)
	var login tokens
	postJSON(t, a.url+"/api/v1/auth/login", cred, http.StatusOK, &login)

	status, h, body := get(t, a.url+"/api/v1/auth/verify", http.Header{"Authorization": {"Bearer " + login.AccessToken}})
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/auth/verify: %d %s", status, body)
	}
	for _, name := range forwardAuthHeaders {
		if _, ok := h[http.CanonicalHeaderKey(name)]; !ok {
			t.Errorf("verify answers without %s, which the gateways pass on (traefik/dynamic/authd.yml)", name)
		}
	}
	if h.Get("X-Auth-User-Id") == "" || h.Get("X-Auth-Session-Id") == "" {
		t.Errorf("verify answers an empty user or session id: %v", h)
	}
	if status, _, _ := get(t, a.url+"/api/v1/auth/verify", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/auth/verify without a token: %d, want 401", status)
	}

	postJSON(t, a.url+"/api/v1/auth/refresh", map[string]string{"refresh_token": login.RefreshToken}, http.StatusOK, nil)
	postJSON(t, a.url+"/api/v1/auth/refresh", map[string]string{"refresh_token": login.RefreshToken}, http.StatusUnauthorized, nil)
	bad := map[string]string{"email": cred["email"], "password": "wrong-password-123"}
	postJSON(t, a.url+"/api/v1/auth/login", bad, http.StatusUnauthorized, nil)
	postJSON(t, a.url+"/api/v1/auth/login", bad, http.StatusTooManyRequests, nil)

	status, _, body = get(t, a.metricsURL+"/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on the metrics port: %d", status)
	}
	have := exported(body)
	var missing []string
	for name, where := range used {
		if have[name] {
			continue
		}
		if _, ok := notScraped[name]; ok {
			continue
		}
		slices.Sort(where)
		missing = append(missing, name+" (used by "+strings.Join(slices.Compact(where), "; ")+")")
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("not exported by authd: %s", m)
	}
	// A name excused above must still be authd's: a typo there would
	// excuse a typo in a query.
	for name := range notScraped {
		if name != "up" && !strings.HasPrefix(name, "authd_") {
			t.Errorf("notScraped lists %s, which is not an authd metric", name)
		}
	}
}
