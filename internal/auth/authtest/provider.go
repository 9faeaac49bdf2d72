package authtest

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// Provider stands in for a social sign-in provider at the domain's port
// (auth.SocialProvider). What a real one proves is tested in package oauth
// against a real OpenID Provider and a GitHub emulator; here it is reduced
// to its contract: a code is good once, for the verifier and nonce its
// authorization was started with.
type Provider struct {
	name string

	mu      sync.Mutex
	started map[string][2]string // state → verifier, nonce
	codes   map[string]grant
	down    bool  // AuthCodeURL and Exchange fail as unreachable
	refuse  error // Exchange fails with it
}

type grant struct {
	verifier, nonce string
	profile         auth.SocialProfile
}

// NewProvider returns a provider named name.
func NewProvider(name string) *Provider {
	return &Provider{name: name, started: map[string][2]string{}, codes: map[string]grant{}}
}

func (p *Provider) Name() string        { return p.name }
func (p *Provider) DisplayName() string { return strings.ToUpper(p.name[:1]) + p.name[1:] }

// SetDown makes the provider unreachable (ErrProviderUnavailable) or
// reachable again.
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// SetRefusal makes Exchange fail with err (nil: answer normally).
func (p *Provider) SetRefusal(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = err
}

func (p *Provider) AuthCodeURL(state, verifier, nonce string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return "", auth.ErrProviderUnavailable
	}
	p.started[state] = [2]string{verifier, nonce}
	return "https://" + p.name + ".test/authorize?state=" + url.QueryEscape(state), nil
}

// Approve is the person signing in at the provider as profile: it returns
// the code the provider's redirect back carries.
func (p *Provider) Approve(tb testing.TB, state string, profile auth.SocialProfile) string {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.started[state]
	if !ok {
		tb.Fatalf("%s: no authorization started with state %q", p.name, state)
	}
	profile.Provider = p.name
	code := "code-" + state
	p.codes[code] = grant{verifier: s[0], nonce: s[1], profile: profile}
	return code
}

func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (*auth.SocialProfile, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return nil, auth.ErrProviderUnavailable
	}
	if p.refuse != nil {
		return nil, p.refuse
	}
	g, ok := p.codes[code]
	delete(p.codes, code)
	if !ok || g.verifier != verifier || g.nonce != nonce {
		return nil, auth.ErrProviderDenied
	}
	prof := g.profile
	return &prof, nil
}
