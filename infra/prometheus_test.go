package infra

import (
	"os"
	"os/exec"
	"testing"
)

// promtool returns the path of promtool, skipping the test without it
// unless AUTH_TEST_REQUIRE_SERVERS=1 (CI), where .ci/run installs it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
			t.Fatal("promtool is not on PATH and AUTH_TEST_REQUIRE_SERVERS=1: apt-get install prometheus")
		}
		t.Skip("promtool is not on PATH (apt-get install prometheus): the Prometheus files are not checked")
	}
	return p
}

// TestPromtool checks the Prometheus configuration and rules with
// Prometheus' own tool, and runs the rules' unit tests (alerts_test.yml),
// where every alert fires once and stays silent once.
func TestPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "config", "prometheus/prometheus.yml"},
		{"check", "rules", "prometheus/alerts.yml"},
		{"test", "rules", "prometheus/alerts_test.yml"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
