package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// TestJWKS parses the JWKS back into public keys the way an independent
// verifier would, checks them against the stored keys, and verifies a token
// with them using jwt directly.
func TestJWKS(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			store := newMemKeyStore()
			m := newTestManager(t, store, testConfig(clk, alg))
			if _, err := m.Rotate(context.Background()); err != nil {
				t.Fatal(err)
			}
			tok := issue(t, m)

			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(m.JWKS(), &doc); err != nil {
				t.Fatal(err)
			}
			recs := store.stored(t)
			if len(doc.Keys) != len(recs) {
				t.Fatalf("JWKS has %d keys, want %d", len(doc.Keys), len(recs))
			}
			keys := map[string]any{}
			for i, j := range doc.Keys {
				want := map[string]string{"EC": "kty crv x y use kid alg", "OKP": "kty crv x use kid alg", "RSA": "kty n e use kid alg"}[str(j["kty"])]
				if got := fieldNames(j); got != sortFields(want) {
					t.Errorf("key %d has fields %q, want %q", i, got, sortFields(want))
				}
				if j["use"] != "sig" || j["alg"] != alg || j["kid"] != recs[i].ID {
					t.Errorf("key %d: use %v alg %v kid %v; want sig %s %s", i, j["use"], j["alg"], j["kid"], alg, recs[i].ID)
				}
				pub := publicKeyFromJWK(t, j)
				der, err := x509.MarshalPKIXPublicKey(pub)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(der, recs[i].PublicKey) {
					t.Errorf("key %d in the JWKS is not the stored public key", i)
				}
				keys[str(j["kid"])] = pub
			}

			parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) {
				return keys[str(tk.Header["kid"])], nil
			}, jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(clk.Now),
				jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience))
			if err != nil || !parsed.Valid {
				t.Fatalf("an independent verifier with the JWKS rejects the token: %v", err)
			}
		})
	}
}

func TestJWKSCache(t *testing.T) {
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	a := m.JWKS()
	a[0] = 'X' // the caller owns its copy
	if b := m.JWKS(); b[0] != '{' {
		t.Fatal("JWKS returned a shared buffer")
	}
	before := jwksKids(t, m)
	if _, err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := jwksKids(t, m); len(after) != len(before)+1 {
		t.Errorf("the cached JWKS missed the rotated key: %v", after)
	}
	// A clock stepping back doesn't serve bytes built for a later time.
	clk.Advance(time.Hour)
	_ = m.JWKS()
	clk.Advance(-2 * time.Hour)
	if got := jwksKids(t, m); len(got) != 2 {
		t.Errorf("JWKS = %v", got)
	}
}

func TestJWKSMaxAge(t *testing.T) {
	clk := newClock()
	tests := []struct {
		publish, reload, want time.Duration
	}{
		{10 * time.Minute, time.Minute, 270 * time.Second},
		{time.Hour, time.Minute, 1770 * time.Second},
		{time.Minute, time.Minute, 0},
		{time.Second, time.Minute, 0},
		{10*time.Minute + 3*time.Second, time.Minute, 271 * time.Second},
	}
	for _, tt := range tests {
		cfg := testConfig(clk, ES256)
		cfg.PublishDelay, cfg.ReloadInterval = tt.publish, tt.reload
		m := newTestManager(t, newMemKeyStore(), cfg)
		if got := m.JWKSMaxAge(); got != tt.want || got > 0 && got >= tt.publish {
			t.Errorf("PublishDelay %v, ReloadInterval %v: JWKSMaxAge = %v, want %v", tt.publish, tt.reload, got, tt.want)
		}
	}
}

func TestAlgorithms(t *testing.T) {
	for _, alg := range algorithms {
		m := newTestManager(t, newMemKeyStore(), testConfig(newClock(), alg))
		if got := m.Algorithms(); !cmp.Equal(got, []string{alg}) {
			t.Errorf("Algorithms = %v, want [%s]", got, alg)
		}
	}
}

func publicKeyFromJWK(tb testing.TB, j map[string]any) any {
	tb.Helper()
	dec := func(name string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(str(j[name]))
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		return b
	}
	switch j["kty"] {
	case "EC":
		if j["crv"] != "P-256" {
			tb.Fatalf("crv = %v", j["crv"])
		}
		x, y := dec("x"), dec("y")
		if len(x) != 32 || len(y) != 32 {
			tb.Fatalf("coordinates of %d and %d bytes, want 32", len(x), len(y))
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			tb.Fatal(err)
		}
		return pub
	case "OKP":
		if j["crv"] != "Ed25519" {
			tb.Fatalf("crv = %v", j["crv"])
		}
		x := dec("x")
		if len(x) != ed25519.PublicKeySize {
			tb.Fatalf("x has %d bytes", len(x))
		}
		return ed25519.PublicKey(x)
	case "RSA":
		n, e := new(big.Int).SetBytes(dec("n")), new(big.Int).SetBytes(dec("e"))
		if n.BitLen() != rsaBits || !e.IsInt64() {
			tb.Fatalf("RSA key of %d bits, e %v", n.BitLen(), e)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}
	}
	tb.Fatalf("kty %v", j["kty"])
	return nil
}

func str(v any) string { s, _ := v.(string); return s }

func fieldNames(j map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(j)), " ")
}

func sortFields(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}
