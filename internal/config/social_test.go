package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodSecret = "3f1c7a9e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"

func TestSocialDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Social.Enabled() || c.Social.Google != nil || c.Social.GitHub != nil || len(c.Social.OIDC) != 0 || len(c.Social.RedirectURLs) != 0 {
		t.Errorf("social login must be off by default: %+v", c.Social)
	}
	if c.raw["AUTH_GITHUB_URL"] != "https://github.com" || c.raw["AUTH_GITHUB_API_URL"] != "https://api.github.com" {
		t.Errorf("GitHub URL defaults: %q %q", c.raw["AUTH_GITHUB_URL"], c.raw["AUTH_GITHUB_API_URL"])
	}
}

func TestSocialProviders(t *testing.T) {
	c, err := Load(env(map[string]string{
		"AUTH_REDIRECT_URLS":           " https://app.example.com/after-login , myapp.example.com:443/x,https://admin.example.com/cb",
		"AUTH_GOOGLE_CLIENT_ID":        "g-id",
		"AUTH_GOOGLE_CLIENT_SECRET":    "g-secret",
		"AUTH_GITHUB_CLIENT_ID":        "gh-id",
		"AUTH_GITHUB_CLIENT_SECRET":    "gh-secret",
		"AUTH_OIDC_PROVIDERS":          " Okta, my_idp ,",
		"AUTH_OIDC_OKTA_ISSUER":        "https://example.okta.com/",
		"AUTH_OIDC_OKTA_CLIENT_ID":     "okta-id",
		"AUTH_OIDC_OKTA_CLIENT_SECRET": "okta-secret",
		"AUTH_OIDC_OKTA_DISPLAY_NAME":  "Okta SSO",
		"AUTH_OIDC_MY_IDP_ISSUER":      "https://idp.example.com/realms/main",
		"AUTH_OIDC_MY_IDP_CLIENT_ID":   "public-client",
		"AUTH_OIDC_MY_IDP_SCOPES":      "openid email,groups",
	}), "")
	if err == nil || !strings.Contains(err.Error(), "AUTH_REDIRECT_URLS is invalid") {
		t.Fatalf("a redirect URL without a scheme: %v, want AUTH_REDIRECT_URLS is invalid", err)
	}

	vars := map[string]string{
		"AUTH_REDIRECT_URLS":           " https://app.example.com/after-login ,,https://admin.example.com/cb",
		"AUTH_GOOGLE_CLIENT_ID":        "g-id",
		"AUTH_GOOGLE_CLIENT_SECRET":    "g-secret",
		"AUTH_GITHUB_CLIENT_ID":        "gh-id",
		"AUTH_GITHUB_CLIENT_SECRET":    "gh-secret",
		"AUTH_GITHUB_URL":              "https://github.example.com/",
		"AUTH_GITHUB_API_URL":          "https://github.example.com/api/v3",
		"AUTH_OIDC_PROVIDERS":          " Okta, my_idp ,",
		"AUTH_OIDC_OKTA_ISSUER":        "https://example.okta.com/",
		"AUTH_OIDC_OKTA_CLIENT_ID":     "okta-id",
		"AUTH_OIDC_OKTA_CLIENT_SECRET": "okta-secret",
		"AUTH_OIDC_OKTA_DISPLAY_NAME":  "Okta SSO",
		"AUTH_OIDC_MY_IDP_ISSUER":      "https://idp.example.com/realms/main",
		"AUTH_OIDC_MY_IDP_CLIENT_ID":   "public-client",
		"AUTH_OIDC_MY_IDP_SCOPES":      "openid email,groups",
	}
	c, err = Load(env(vars), "")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Social
	if !s.Enabled() || !reflect.DeepEqual(s.RedirectURLs, []string{"https://app.example.com/after-login", "https://admin.example.com/cb"}) {
		t.Errorf("redirect URLs %q", s.RedirectURLs)
	}
	if s.Google == nil || !reflect.DeepEqual(*s.Google, ProviderConfig{Name: "google", ClientID: "g-id", ClientSecret: "g-secret"}) {
		t.Errorf("Google %+v", s.Google)
	}
	if s.GitHub == nil || !reflect.DeepEqual(*s.GitHub, ProviderConfig{Name: "github", ClientID: "gh-id", ClientSecret: "gh-secret",
		WebURL: "https://github.example.com", APIURL: "https://github.example.com/api/v3"}) {
		t.Errorf("GitHub %+v", s.GitHub)
	}
	want := []ProviderConfig{
		{Name: "okta", DisplayName: "Okta SSO", Issuer: "https://example.okta.com", ClientID: "okta-id", ClientSecret: "okta-secret",
			Scopes: []string{"openid", "email", "profile"}},
		{Name: "my_idp", Issuer: "https://idp.example.com/realms/main", ClientID: "public-client", Scopes: []string{"openid", "email", "groups"}},
	}
	if !reflect.DeepEqual(s.OIDC, want) {
		t.Errorf("OIDC providers\n%+v\nwant\n%+v", s.OIDC, want)
	}

	// `authd config` shows the per-provider variables too, secrets masked.
	var b strings.Builder
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, secret := range []string{"g-secret", "gh-secret", "okta-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("config output leaks %q:\n%s", secret, out)
		}
	}
	for _, line := range []string{
		"AUTH_GOOGLE_CLIENT_SECRET=********\n", "AUTH_OIDC_OKTA_CLIENT_SECRET=********\n", "AUTH_OIDC_OKTA_ISSUER=https://example.okta.com/\n",
		"AUTH_OIDC_OKTA_SCOPES=openid email profile\n", "AUTH_OIDC_MY_IDP_CLIENT_SECRET=\n", "AUTH_GITHUB_URL=https://github.example.com/\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("config output lacks %q:\n%s", line, out)
		}
	}
}

// TestSocialDotenv: the per-provider variables are read like the others:
// the environment first, then the .env file.
func TestSocialDotenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(path, []byte("AUTH_OIDC_PROVIDERS=corp\nAUTH_OIDC_CORP_ISSUER=https://from-file.example.com\n"+
		"AUTH_OIDC_CORP_CLIENT_ID=file-id\nAUTH_REDIRECT_URLS=https://app.example.com/\n"), 0o600)
	c, err := Load(env(map[string]string{"AUTH_OIDC_CORP_CLIENT_ID": "env-id"}), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Social.OIDC) != 1 || c.Social.OIDC[0].Issuer != "https://from-file.example.com" || c.Social.OIDC[0].ClientID != "env-id" {
		t.Errorf("OIDC providers %+v", c.Social.OIDC)
	}
}

func TestSocialRefused(t *testing.T) {
	const app = "https://app.example.com/cb"
	oidc := func(more map[string]string) map[string]string {
		m := map[string]string{"AUTH_REDIRECT_URLS": app, "AUTH_OIDC_PROVIDERS": "corp",
			"AUTH_OIDC_CORP_ISSUER": "https://login.example.com", "AUTH_OIDC_CORP_CLIENT_ID": "id"}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_REDIRECT_URLS": app, "AUTH_GOOGLE_CLIENT_ID": "id"}, "AUTH_GOOGLE_CLIENT_SECRET must be set when AUTH_GOOGLE_CLIENT_ID is"},
		{map[string]string{"AUTH_REDIRECT_URLS": app, "AUTH_GOOGLE_CLIENT_SECRET": "s"}, "AUTH_GOOGLE_CLIENT_ID must be set when AUTH_GOOGLE_CLIENT_SECRET is"},
		{map[string]string{"AUTH_REDIRECT_URLS": app, "AUTH_GITHUB_CLIENT_ID": "id"}, "AUTH_GITHUB_CLIENT_SECRET must be set"},
		{map[string]string{"AUTH_REDIRECT_URLS": app, "AUTH_GITHUB_CLIENT_SECRET": "s"}, "AUTH_GITHUB_CLIENT_ID must be set"},
		{map[string]string{"AUTH_UI_ENABLED": "false", "AUTH_GOOGLE_CLIENT_ID": "id", "AUTH_GOOGLE_CLIENT_SECRET": "s"}, "AUTH_REDIRECT_URLS must list"},
		{map[string]string{"AUTH_UI_ENABLED": "false", "AUTH_GITHUB_CLIENT_ID": "id", "AUTH_GITHUB_CLIENT_SECRET": "s"}, "AUTH_REDIRECT_URLS must list"},
		{oidc(map[string]string{"AUTH_UI_ENABLED": "false", "AUTH_REDIRECT_URLS": ""}), "AUTH_REDIRECT_URLS must list"},
		{map[string]string{"AUTH_REDIRECT_URLS": "app.example.com/cb"}, "AUTH_REDIRECT_URLS is invalid"},
		{map[string]string{"AUTH_REDIRECT_URLS": "https://app.example.com/cb#frag"}, "AUTH_REDIRECT_URLS is invalid"},
		{map[string]string{"AUTH_REDIRECT_URLS": "https://user@app.example.com/cb"}, "AUTH_REDIRECT_URLS is invalid"},
		{map[string]string{"AUTH_REDIRECT_URLS": "javascript:alert(1)"}, "AUTH_REDIRECT_URLS is invalid"},
		{map[string]string{"AUTH_GITHUB_URL": "github.example.com"}, "AUTH_GITHUB_URL must be an absolute http(s) URL"},
		{map[string]string{"AUTH_GITHUB_URL": "https://github.example.com/?x=1"}, "AUTH_GITHUB_URL"},
		{map[string]string{"AUTH_GITHUB_API_URL": "ftp://github.example.com/api/v3"}, "AUTH_GITHUB_API_URL must be an absolute http(s) URL"},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,my.idp"}), `AUTH_OIDC_PROVIDERS lists "my.idp"`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,-x"}), `AUTH_OIDC_PROVIDERS lists "-x"`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,sign in"}), `AUTH_OIDC_PROVIDERS lists "sign in"`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,idé"}), `AUTH_OIDC_PROVIDERS lists "idé"`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,CORP"}), `AUTH_OIDC_PROVIDERS lists "corp" twice`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,Google"}), `AUTH_OIDC_PROVIDERS lists "google", which is the built-in provider`},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "github,corp"}), `AUTH_OIDC_PROVIDERS lists "github"`},
		{oidc(map[string]string{"AUTH_OIDC_CORP_ISSUER": ""}), "AUTH_OIDC_CORP_ISSUER is required: corp is listed in AUTH_OIDC_PROVIDERS"},
		{oidc(map[string]string{"AUTH_OIDC_PROVIDERS": "corp,other"}), "AUTH_OIDC_OTHER_ISSUER is required"},
		{oidc(map[string]string{"AUTH_OIDC_CORP_ISSUER": "login.example.com"}), "AUTH_OIDC_CORP_ISSUER must be an absolute http(s) URL"},
		{oidc(map[string]string{"AUTH_OIDC_CORP_ISSUER": "https://login.example.com#x"}), "AUTH_OIDC_CORP_ISSUER must be"},
		{oidc(map[string]string{"AUTH_OIDC_CORP_CLIENT_ID": ""}), "AUTH_OIDC_CORP_CLIENT_ID is required"},
		{oidc(map[string]string{"AUTH_OIDC_CORP_SCOPES": " , "}), "AUTH_OIDC_CORP_SCOPES must list scopes"},
		{oidc(map[string]string{"AUTH_OIDC_CORP_DISPLAY_NAME": "Two\nLines"}), "AUTH_OIDC_CORP_DISPLAY_NAME"},
	} {
		_, err := Load(env(tc.vars), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.vars, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %q spans lines", tc.vars, err)
		}
	}
}

// TestSocialProduction: in production every social URL is https: the
// redirect URLs (they receive codes that sign a user in), GitHub's and the
// issuers (they carry codes and tokens).
func TestSocialProduction(t *testing.T) {
	prod := func(more map[string]string) map[string]string {
		m := map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": goodSecret,
			"AUTH_SMTP_URL": "smtp://smtp.example.com", "AUTH_REDIRECT_URLS": "https://app.example.com/cb",
			"AUTH_GITHUB_CLIENT_ID": "id", "AUTH_GITHUB_CLIENT_SECRET": "s",
			"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_ISSUER": "https://login.example.com", "AUTH_OIDC_CORP_CLIENT_ID": "id"}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string // "" = valid
	}{
		{"all https", prod(nil), ""},
		{"http redirect URL", prod(map[string]string{"AUTH_REDIRECT_URLS": "https://app.example.com/cb,http://localhost:3000/cb"}),
			`AUTH_REDIRECT_URLS must be an https URL when AUTH_ENV=production (got "http://localhost:3000/cb")`},
		{"http GitHub URL", prod(map[string]string{"AUTH_GITHUB_URL": "http://github.example.com"}), "AUTH_GITHUB_URL must be an https URL"},
		{"http GitHub API URL", prod(map[string]string{"AUTH_GITHUB_API_URL": "http://github.example.com/api/v3"}), "AUTH_GITHUB_API_URL must be an https URL"},
		{"http issuer", prod(map[string]string{"AUTH_OIDC_CORP_ISSUER": "http://login.example.com"}), "AUTH_OIDC_CORP_ISSUER must be an https URL"},
		{"development allows http", map[string]string{"AUTH_SECRET_KEY": goodSecret, "AUTH_REDIRECT_URLS": "http://localhost:3000/cb",
			"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_ISSUER": "http://127.0.0.1:9000", "AUTH_OIDC_CORP_CLIENT_ID": "id",
			"AUTH_GITHUB_CLIENT_ID": "id", "AUTH_GITHUB_CLIENT_SECRET": "s", "AUTH_GITHUB_URL": "http://127.0.0.1:9001"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars), "")
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}
