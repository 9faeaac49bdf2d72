package main

import (
	"log/slog"
	"path/filepath"
	"testing"
)

// TestSocialConfigWiring: the providers the configuration turns on are
// built in order (Google, GitHub, the generic ones), with the allowlist;
// a generic provider whose issuer cannot be reached is built all the same
// (its discovery retries in the background) and is not ready.
func TestSocialConfigWiring(t *testing.T) {
	vars := map[string]string{
		"AUTH_DATA_DIR":             filepath.Join(t.TempDir(), "data"),
		"AUTH_ISSUER":               "https://auth.example.com",
		"AUTH_REDIRECT_URLS":        "https://app.example.com/after-login",
		"AUTH_GOOGLE_CLIENT_ID":     "g",
		"AUTH_GOOGLE_CLIENT_SECRET": "gs",
		"AUTH_GITHUB_CLIENT_ID":     "gh",
		"AUTH_GITHUB_CLIENT_SECRET": "ghs",
		"AUTH_OIDC_PROVIDERS":       "Corp",
		"AUTH_OIDC_CORP_ISSUER":     "http://127.0.0.1:1", // nothing listens
		"AUTH_OIDC_CORP_CLIENT_ID":  "c",
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	sc, err := socialConfig(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range sc.Providers {
		names = append(names, p.Name())
	}
	if len(names) != 3 || names[0] != "google" || names[1] != "github" || names[2] != "corp" {
		t.Fatalf("providers %v, want google github corp", names)
	}
	if r, ok := sc.Providers[2].(interface{ Ready() bool }); !ok || r.Ready() {
		t.Errorf("corp ready before any discovery could succeed")
	}
	if _, ok := sc.Redirects.Allow("https://APP.example.com:443/after-login"); !ok {
		t.Error("the allowlist refuses its own entry")
	}
	if _, ok := sc.Redirects.Allow("https://evil.example.com/"); ok {
		t.Error("the allowlist allows another host")
	}

	// Off: no providers, an empty allowlist.
	cfg, err = loadConfig(func(k string) string { return map[string]string{"AUTH_DATA_DIR": vars["AUTH_DATA_DIR"]}[k] })
	if err != nil {
		t.Fatal(err)
	}
	sc, err = socialConfig(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil || len(sc.Providers) != 0 {
		t.Fatalf("social login off: %v providers, err %v", len(sc.Providers), err)
	}
}
