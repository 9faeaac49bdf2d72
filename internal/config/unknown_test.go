package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSuggest(t *testing.T) {
	known := []string{"AUTH_ADDR", "AUTH_DATABASE_URL", "AUTH_DATA_DIR", "AUTH_REDIS_URL", "AUTH_KEY_PUBLISH_DELAY", "AUTH_OIDC_ACME_ISSUER"}
	for _, tc := range []struct{ name, want string }{
		{"AUTH_DATABSE_URL", "AUTH_DATABASE_URL"},   // deletion
		{"AUTH_DATABASE_URLL", "AUTH_DATABASE_URL"}, // insertion
		{"AUTH_DATABASE_ULR", "AUTH_DATABASE_URL"},  // transposition counts one
		{"AUTH_DATBAASE_URL", "AUTH_DATABASE_URL"},  // two edits in 17 characters
		{"auth_database_url", "AUTH_DATABASE_URL"},  // case
		{"AUTH_ADR", "AUTH_ADDR"},                   // one edit in a short name
		{"AUTH_REDIS_ULR", "AUTH_REDIS_URL"},        //
		{"AUTH_DATA_DIRS", "AUTH_DATA_DIR"},         // nearer than AUTH_DATABASE_URL
		{"AUTH_KEY_PUBLISH_DELYA", "AUTH_KEY_PUBLISH_DELAY"},
		{"AUTH_OIDC_ACME_ISSUR", "AUTH_OIDC_ACME_ISSUER"},
		{"AUTH_XY", ""},             // too short to guess
		{"AUTH_SOMETHING_ELSE", ""}, // too far from everything
		{"AUTH_PORT", ""},
	} {
		if got := Suggest(tc.name, known); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"ca", "abc", 3}, {"kitten", "sitting", 3}, {"abcd", "badc", 2},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestUnknownVars(t *testing.T) {
	dotenv := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(dotenv, []byte("AUTH_ACESS_TOKEN_TTL=5m\nAUTH_ADDR=:9000\nOTHER=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AUTH_OIDC_PROVIDERS":      "acme",
		"AUTH_OIDC_ACME_ISSUER":    "https://id.acme.test",
		"AUTH_OIDC_ACME_CLIENT_ID": "c",
		"AUTH_REDIRECT_URLS":       "https://app.acme.test/done",
	}
	c, err := Load(func(k string) string { return env[k] }, dotenv)
	if err != nil {
		t.Fatal(err)
	}
	got := c.UnknownVars([]string{
		"PATH=/bin",
		"AUTH_DATABSE_URL=postgres://x",
		"AUTH_OIDC_ACME_ISSUER=https://id.acme.test",   // listed provider: known
		"AUTH_OIDC_ACME_SCOPE=openid",                  // its typo
		"AUTH_OIDC_OTHER_ISSUER=https://id.other.test", // not listed
		"AUTH_TEST_POSTGRES_URL=postgres://t",          // the tests'
		"AUTH_ADDR=:8080",
		"AUTH_WHATEVER=1",
		"EMPTY",
	})
	want := []UnknownVar{
		{Name: "AUTH_DATABSE_URL", Source: "environment", Suggestion: "AUTH_DATABASE_URL"},
		{Name: "AUTH_OIDC_ACME_SCOPE", Source: "environment", Suggestion: "AUTH_OIDC_ACME_SCOPES"},
		{Name: "AUTH_OIDC_OTHER_ISSUER", Source: "environment", Suggestion: ""},
		{Name: "AUTH_WHATEVER", Source: "environment", Suggestion: ""},
		{Name: "AUTH_ACESS_TOKEN_TTL", Source: dotenv, Suggestion: "AUTH_ACCESS_TOKEN_TTL"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnknownVars (-want +got):\n%s", diff)
	}
}
