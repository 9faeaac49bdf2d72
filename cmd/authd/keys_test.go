package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kidOf returns the kid of a JWT's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil || hdr.Kid == "" {
		t.Fatalf("no kid in %s", b)
	}
	return hdr.Kid
}

// TestEmergencyKeyRotation follows the key-compromise runbook with the
// commands it names: the key that signs can't be revoked; rotate --now
// makes a key that signs at once; then the leaked key is revoked, and a
// server refuses the tokens it signed, publishes only the new key and signs
// with it.
func TestEmergencyKeyRotation(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			vars := backendVars(t, backend, map[string]string{"AUTH_ADDR": "127.0.0.1:0"})
			s := serveInProcess(t, vars)
			base := "http://" + s.addr(t)
			res := call(t, "POST", base+"/api/v1/auth/register", "", `{"email":"keys@example.com","password":"key rotation passphrase"}`)
			res.want(t, 201)
			before := res.tokens(t)
			leaked := kidOf(t, before.Access)
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}

			out, err := cli(t, vars, "", "keys", "revoke", "--kid", leaked)
			var usage *usageError
			if !errors.As(err, &usage) || !strings.Contains(out+err.Error(), "--yes") {
				t.Fatalf("revoke without --yes off a terminal: %v\n%s", err, out)
			}
			if _, err := cli(t, vars, "", "keys", "revoke", "--yes"); !errors.As(err, &usage) {
				t.Fatalf("revoke without a kid: %v", err)
			}
			if _, err := cli(t, vars, "", "keys", "revoke", "--yes", "--kid", leaked, "stray"); !errors.As(err, &usage) {
				t.Fatalf("revoke with a stray argument: %v", err)
			}
			out, err = cli(t, vars, "", "keys", "revoke", "--yes", "--kid", leaked)
			if err == nil || !strings.Contains(err.Error(), "keys rotate --now") {
				t.Fatalf("revoking the key that signs: %v\n%s", err, out)
			}
			out, err = cli(t, vars, "", "keys", "rotate", "--now")
			if err != nil || !strings.Contains(out, "--now, so it signs at once") {
				t.Fatalf("keys rotate --now: %v\n%s", err, out)
			}
			out, err = cli(t, vars, "", "keys", "revoke", "--yes", "--kid", leaked)
			if err != nil || !strings.Contains(out, "key "+leaked+" revoked") {
				t.Fatalf("keys revoke: %v\n%s", err, out)
			}
			if out, err = cli(t, vars, "", "keys", "revoke", "--yes", "--kid", leaked); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Fatalf("revoking it again: %v\n%s", err, out)
			}

			s = serveInProcess(t, vars)
			base = "http://" + s.addr(t)
			call(t, "GET", base+"/api/v1/users/me", before.Access, "").want(t, 401)
			res = call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"keys@example.com","password":"key rotation passphrase"}`)
			res.want(t, 200)
			after := res.tokens(t)
			fresh := kidOf(t, after.Access)
			if fresh == leaked {
				t.Fatal("the server still signs with the revoked key")
			}
			call(t, "GET", base+"/api/v1/users/me", after.Access, "").want(t, 200)
			// The refresh token is opaque, not signed by the key: the
			// session goes on with tokens of the new key.
			res = call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+before.Refresh+`"}`)
			res.want(t, 200)
			if kid := kidOf(t, res.tokens(t).Access); kid != fresh {
				t.Errorf("refreshed token signed by %s, want %s", kid, fresh)
			}
			var jwks struct {
				Keys []struct {
					Kid string `json:"kid"`
				} `json:"keys"`
			}
			res = call(t, "GET", base+"/.well-known/jwks.json", "", "")
			res.want(t, 200)
			if err := json.Unmarshal(res.body, &jwks); err != nil {
				t.Fatal(err)
			}
			var kids []string
			for _, k := range jwks.Keys {
				kids = append(kids, k.Kid)
			}
			if !cmp.Equal(kids, []string{fresh}) {
				t.Errorf("JWKS kids %v, want only %s", kids, fresh)
			}
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
