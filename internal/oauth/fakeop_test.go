package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/testclock"
)

// fakeOP is an OpenID Provider emulated over HTTP on loopback for the tests
// that need what a real one never does: ID tokens crafted per case (bad
// nonce, wrong audience, alg none…), a key set or a token endpoint that
// fails. It serves a discovery document, a JWKS of a key it generated, a
// token endpoint that answers the ID token its mint function makes, and,
// when userinfo is set, a UserInfo endpoint.
type fakeOP struct {
	t      *testing.T
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey
	kid    string
	clock  *testclock.Clock

	mu              sync.Mutex
	discoveryStatus int              // 0: 200
	discovery       map[string]any   // overrides of the discovery document
	jwksStatus      int              // 0: 200
	mint            func() string    // the ID token of the next token response
	tokenReply      http.HandlerFunc // replaces the token endpoint when set
	userinfo        map[string]any   // nil: no UserInfo endpoint
	userinfoStatus  int              // 0: 200
	tokenForms      []url.Values
	tokenBasic      []bool // whether each token request had basic auth
	jwksFetches     int
	discoveryHits   int
}

const (
	fakeClientID     = "authd"
	fakeClientSecret = "fake-secret"
	fakeSubject      = "248289761001"
	fakeAccessToken  = "fake-access-token"
)

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{t: t, key: key, kid: "k1", clock: testclock.New()}
	op.srv = httptest.NewUnstartedServer(http.HandlerFunc(op.serve))
	op.issuer = "http://" + op.srv.Listener.Addr().String()
	op.mint = func() string { return op.sign(op.claims("")) }
	op.srv.Start()
	t.Cleanup(op.srv.Close)
	return op
}

// set changes the emulator's behaviour under its lock.
func (op *fakeOP) set(f func(op *fakeOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

// claims returns the claims of a good ID token for fakeClientID with
// nonce, as of the emulator's clock.
func (op *fakeOP) claims(nonce string) map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"iss":            op.issuer,
		"sub":            fakeSubject,
		"aud":            fakeClientID,
		"exp":            now.Add(time.Hour).Unix(),
		"iat":            now.Unix(),
		"nonce":          nonce,
		"email":          "ada@example.com",
		"email_verified": true,
		"name":           "Ada Lovelace",
	}
}

// sign signs claims with the emulator's key, RS256, with its kid.
func (op *fakeOP) sign(claims map[string]any) string {
	return signJWT(op.t, jose.RS256, jose.JSONWebKey{Key: op.key, KeyID: op.kid}, claims)
}

func signJWT(t *testing.T, alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedJWT is a JWT with "alg":"none" and an empty signature.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	defer op.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		op.discoveryHits++
		if op.discoveryStatus != 0 {
			http.Error(w, "unavailable", op.discoveryStatus)
			return
		}
		doc := map[string]any{
			"issuer":                                op.issuer,
			"authorization_endpoint":                op.issuer + "/authorize",
			"token_endpoint":                        op.issuer + "/token",
			"jwks_uri":                              op.issuer + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
			"code_challenge_methods_supported":      []string{"S256"},
		}
		if op.userinfo != nil {
			doc["userinfo_endpoint"] = op.issuer + "/userinfo"
		}
		for k, v := range op.discovery {
			doc[k] = v
		}
		writeJSON(w, http.StatusOK, doc)
	case "/jwks":
		op.jwksFetches++
		if op.jwksStatus != 0 {
			http.Error(w, "unavailable", op.jwksStatus)
			return
		}
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &op.key.PublicKey, KeyID: op.kid, Algorithm: string(jose.RS256), Use: "sig",
		}}})
	case "/token":
		if r.Method != http.MethodPost {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op.tokenForms = append(op.tokenForms, r.PostForm)
		// client_secret_basic or client_secret_post, not both (RFC 6749
		// section 2.3.1).
		id, secret, basic := r.BasicAuth()
		op.tokenBasic = append(op.tokenBasic, basic)
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		} else if r.PostForm.Has("client_secret") {
			id = ""
		}
		if id != fakeClientID || secret != fakeClientSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		if op.tokenReply != nil {
			op.tokenReply(w, r)
			return
		}
		if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") == "" ||
			r.PostForm.Get("code_verifier") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": fakeAccessToken,
			"token_type":   "Bearer",
			"expires_in":   3600,
			"id_token":     op.mint(),
		})
	case "/userinfo":
		if op.userinfo == nil {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+fakeAccessToken {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if op.userinfoStatus != 0 {
			http.Error(w, "unavailable", op.userinfoStatus)
			return
		}
		writeJSON(w, http.StatusOK, op.userinfo)
	default:
		http.NotFound(w, r)
	}
}

// provider returns a ready provider for the emulator, checking tokens
// against the emulator's clock.
func (op *fakeOP) provider() *oauth.OIDC {
	op.t.Helper()
	return newReadyOIDC(op.t, oauth.Config{
		Name:         "fake",
		Issuer:       op.issuer,
		ClientID:     fakeClientID,
		ClientSecret: fakeClientSecret,
		RedirectURL:  oauth.RedirectURL(authdIssuer, "fake"),
		Now:          op.clock.Now,
	})
}
