package oauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"sync"
	"testing"

	"github.com/talentforge/authd/internal/oauth"
)

func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct{ issuer, name, want string }{
		{"https://auth.example.com", "google", "https://auth.example.com/api/v1/oauth/google/callback"},
		{"https://auth.example.com/", "github", "https://auth.example.com/api/v1/oauth/github/callback"},
		{"https://example.com/auth", "acme_sso", "https://example.com/auth/api/v1/oauth/acme_sso/callback"},
	} {
		if got := oauth.RedirectURL(tc.issuer, tc.name); got != tc.want {
			t.Errorf("RedirectURL(%q, %q) = %q, want %q", tc.issuer, tc.name, got, tc.want)
		}
	}
}

// State, nonce and verifier are 256 random bits in base64url, and the
// verifier is one RFC 7636 accepts.
func TestGenerated(t *testing.T) {
	rfc7636 := regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)
	for name, gen := range map[string]func() string{
		"state": oauth.GenerateState, "nonce": oauth.GenerateNonce, "verifier": oauth.GenerateVerifier,
	} {
		seen := map[string]bool{}
		for range 100 {
			v := gen()
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(b) != 32 || !rfc7636.MatchString(v) {
				t.Fatalf("%s %q: want 32 bytes in unpadded base64url", name, v)
			}
			if seen[v] {
				t.Fatalf("%s %q twice", name, v)
			}
			seen[v] = true
		}
	}
}

// The classes are distinct and no class wraps another.
func TestErrorClassesDistinct(t *testing.T) {
	for i, a := range sentinels {
		for j, b := range sentinels {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

// Concurrent sign-ins each get their own outcome: a failing one does not
// make another fail, nor the other way round.
func TestOIDCConcurrentExchanges(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	op.set(func(op *fakeOP) {
		op.mint = func() string { return op.sign(op.claims("good")) }
	})
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			nonce := "good"
			if i%2 == 1 {
				nonce = "bad"
			}
			_, errs[i] = p.Exchange(context.Background(), "code", oauth.GenerateVerifier(), nonce)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && err != nil {
			t.Errorf("exchange %d: %v", i, err)
		}
		if i%2 == 1 && !errors.Is(err, oauth.ErrInvalidToken) {
			t.Errorf("exchange %d: %v, want ErrInvalidToken", i, err)
		}
	}
}
