package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeFamilies reads base/metrics into families keyed by name.
func scrapeFamilies(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := e2eClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// sample returns the value of the series of name with exactly labels
// (name=value pairs), or -1 when there is none: counters and gauges by
// value, histograms by sample count.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName(), l.GetValue())
		}
		if !slices.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestMetricsAfterAFlow scripts what users do — sign up, fail and succeed
// at logging in, read their profile, refresh, replay a retired refresh
// token — plus what strangers do (requests to made-up paths with made-up
// methods), then scrapes /metrics once and checks that each counter moved by
// exactly what the flow did, and that no label took a value from a request.
func TestMetricsAfterAFlow(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			vars := backendVars(t, backend, map[string]string{
				"AUTH_ADDR":                "127.0.0.1:0",
				"AUTH_REFRESH_REUSE_GRACE": "0", // a replayed token is reuse at once
			})
			s := serveInProcess(t, vars)
			base := "http://" + s.addr(t)
			metricsFlow(t, base, backend)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func metricsFlow(t *testing.T, base, backend string) {
	const email, pass = "metrics.flow@example.com", "metrics flow passphrase"
	res := call(t, "POST", base+"/api/v1/auth/register", "", `{"email":"`+email+`","password":"`+pass+`"}`)
	res.want(t, 201)
	res0 := res
	var reg struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal(res.body, &reg); err != nil || reg.User.ID == "" {
		t.Fatalf("register: %s", res.body)
	}
	call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"`+email+`","password":"wrong passphrase"}`).want(t, 401)
	res = call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+pass+`"}`)
	res.want(t, 200)
	pair := res.tokens(t)
	call(t, "GET", base+"/api/v1/users/me", pair.Access, "").want(t, 200)
	call(t, "GET", base+"/api/v1/auth/verify", pair.Access, "").want(t, 200)
	next := call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+pair.Refresh+`"}`)
	next.want(t, 200)
	call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+pair.Refresh+`"}`).want(t, 401)

	// Strangers' paths and methods: each must land in one bounded series.
	var strangers []string
	for i := range 25 {
		p := fmt.Sprintf("/api/v1/probe-%d-%s", i, strings.Repeat("x", i))
		strangers = append(strangers, p)
		call(t, "GET", base+p, "", "")
	}
	call(t, "BREW", base+"/api/v1/users/me", "", "")
	// A matched route with an id in its path (forbidden to a non-admin).
	// The replay above ended the login's session; the sign-up's goes on.
	call(t, "GET", base+"/api/v1/users/"+reg.User.ID, res0.tokens(t).Access, "").want(t, 403)

	mfs := scrapeFamilies(t, base)
	want := func(v float64, name string, labels ...string) {
		t.Helper()
		if got := sample(mfs, name, labels...); got != v {
			t.Errorf("%s%v = %v, want %v", name, labels, got, v)
		}
	}
	want(1, "authd_signups_total", "outcome", "success")
	want(0, "authd_signups_total", "outcome", "conflict")
	want(1, "authd_logins_total", "outcome", "success")
	want(1, "authd_logins_total", "outcome", "bad_credentials")
	want(0, "authd_logins_total", "outcome", "locked")
	want(1, "authd_refreshes_total", "outcome", "success")
	want(1, "authd_refreshes_total", "outcome", "reuse_detected")
	want(3, "authd_tokens_issued_total", "kind", "access") // register, login, refresh
	want(3, "authd_tokens_issued_total", "kind", "refresh")
	want(0, "authd_tokens_issued_total", "kind", "client")
	want(1, "authd_http_requests_total", "method", "POST", "route", "/api/v1/auth/login", "status", "200")
	want(1, "authd_http_requests_total", "method", "POST", "route", "/api/v1/auth/login", "status", "401")
	want(1, "authd_http_requests_total", "method", "GET", "route", "/api/v1/auth/verify", "status", "200")
	want(25, "authd_http_requests_total", "method", "GET", "route", "unmatched", "status", "404")
	want(1, "authd_http_requests_total", "method", "other", "route", "unmatched", "status", "405")
	want(1, "authd_http_requests_total", "method", "GET", "route", "/api/v1/users/{id}", "status", "403")
	want(2, "authd_http_request_duration_seconds", "method", "POST", "route", "/api/v1/auth/login")
	want(1, "authd_password_hash_duration_seconds", "op", "hash")
	want(2, "authd_password_hash_duration_seconds", "op", "verify")
	want(0, "authd_password_hash_rejected_total")
	want(1, "authd_signing_keys_published")
	if sample(mfs, "authd_signing_key_age_seconds") < 0 {
		t.Error("no authd_signing_key_age_seconds")
	}
	if sample(mfs, "authd_db_max_connections", "backend", backend) < 0 {
		t.Errorf("no authd_db_max_connections for %s", backend)
	}
	if backend == "postgres" {
		want(1, "authd_redis_up", "mode", "standalone")
	}
	if bi := mfs["authd_build_info"]; bi == nil || len(bi.GetMetric()) != 1 || bi.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("authd_build_info: %v", bi)
	}

	checkBoundedLabels(t, base, mfs, append(strangers, email, reg.User.ID, reg.SessionID, "BREW"))
}

// boundedLabels are the label names authd's metrics may carry, each from a
// fixed set; a new label name fails the test until it is added here, after
// checking that its values are bounded.
var boundedLabels = []string{
	"method", "route", "status", "outcome", "kind", "op", "state", "backend",
	"mode", "rule", "provider", "reason", "result", "version", "commit", "goversion",
	"group", // go_* and process_* collectors
}

// checkBoundedLabels fails when a label is not one of boundedLabels, when
// a route label is not one of the API's patterns, or when any label value
// holds something a request carried (paths, methods, ids, the address).
func checkBoundedLabels(t *testing.T, base string, mfs map[string]*dto.MetricFamily, fromRequests []string) {
	t.Helper()
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	res := call(t, "GET", base+"/openapi.json", "", "")
	res.want(t, 200)
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				n, v := l.GetName(), l.GetValue()
				if !slices.Contains(boundedLabels, n) {
					t.Errorf("%s: label %q=%q is not a known bounded label", name, n, v)
				}
				if n == "route" && v != "unmatched" && doc.Paths[v] == nil && !slices.Contains([]string{"/metrics", "/openapi.json", "/docs"}, v) {
					t.Errorf("%s: route %q is not a route pattern of the API", name, v)
				}
				for _, s := range fromRequests {
					if s != "" && strings.Contains(v, s) {
						t.Errorf("%s: label %s=%q carries %q, which came from a request", name, n, v, s)
					}
				}
			}
		}
	}
}
