// Package infra holds no code: its tests check the deployment files beside
// them (Dockerfile, compose stack, Traefik, Kubernetes manifests, Prometheus
// rules, Grafana dashboard) against each other and against authd itself,
// built from the parent module and run on loopback. It is a module of its
// own so that the Kubernetes, compose and Prometheus libraries the checks
// need stay out of authd's dependencies.
//
// Run from this directory: go test -count=1 ./...
// kubectl must be on PATH; promtool (Debian's prometheus package) and
// AUTH_TEST_REDIS_URL are needed too, or the tests that use them are
// skipped (they fail instead with AUTH_TEST_REQUIRE_SERVERS=1, as in CI).
package infra
