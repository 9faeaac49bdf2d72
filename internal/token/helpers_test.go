package token

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/testclock"
)

// memKeyStore is an in-memory test double of the KeyStore contract, for this
// package's unit tests only: duplicate ids are EConflict, SigningKeys orders
// by ActivatesAt then ID, and records are copied in and out so that callers
// can't alias stored state. The real backends (sqlite, postgres) are proven by
// the contract suite, not by these tests.
type memKeyStore struct {
	mu     sync.Mutex
	keys   map[string]*auth.SigningKey
	events []auth.Event // appended with the keys, as a backend's audit log

	loads atomic.Int64 // SigningKeys calls, to observe reloads
	// loaded, if set before the store is shared, receives a value as each
	// SigningKeys call returns, or until the call's context ends.
	loaded chan struct{}
}

func newMemKeyStore() *memKeyStore {
	return &memKeyStore{keys: make(map[string]*auth.SigningKey)}
}

// InGlobalTx runs fn under the store's lock and keeps what it wrote only if
// fn returns nil, as a backend's transaction would.
func (s *memKeyStore) InGlobalTx(ctx context.Context, fn func(tx auth.GlobalTx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memKeyTx{s: s}
	if err := fn(tx); err != nil {
		return err
	}
	for _, k := range tx.keys {
		s.keys[k.ID] = k
	}
	for _, id := range tx.deleted {
		delete(s.keys, id)
	}
	s.events = append(s.events, tx.events...)
	return nil
}

// memKeyTx is a unit of work of memKeyStore. Only the key and audit methods
// exist: the embedded nil GlobalTx panics on any other, which this package
// never calls.
type memKeyTx struct {
	auth.GlobalTx
	s       *memKeyStore
	keys    []*auth.SigningKey
	deleted []string
	events  []auth.Event
}

func (tx *memKeyTx) DeleteSigningKey(ctx context.Context, id string) error {
	if _, ok := tx.s.keys[id]; !ok {
		return auth.ErrSigningKeyNotFound
	}
	tx.deleted = append(tx.deleted, id)
	return nil
}

func (tx *memKeyTx) CreateSigningKey(ctx context.Context, k *auth.SigningKey) error {
	if _, ok := tx.s.keys[k.ID]; ok {
		return auth.ErrExists
	}
	tx.keys = append(tx.keys, cloneKey(k))
	return nil
}

func (tx *memKeyTx) AppendEvent(ctx context.Context, ev *auth.Event) error {
	tx.events = append(tx.events, *ev)
	return nil
}

func (s *memKeyStore) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	s.loads.Add(1)
	if s.loaded != nil {
		defer func() {
			select {
			case s.loaded <- struct{}{}:
			case <-ctx.Done():
			}
		}()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*auth.SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b *auth.SigningKey) int {
		if c := a.ActivatesAt.Compare(b.ActivatesAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// stored returns the store's keys, failing the test on an error.
func (s *memKeyStore) stored(tb testing.TB) []*auth.SigningKey {
	tb.Helper()
	recs, err := s.SigningKeys(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

func (s *memKeyStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

func cloneKey(k *auth.SigningKey) *auth.SigningKey {
	c := *k
	c.PublicKey = bytes.Clone(k.PublicKey)
	c.PrivateKey = bytes.Clone(k.PrivateKey)
	return &c
}

// failingKeyStore fails every call, to test that store errors surface.
type failingKeyStore struct{}

var errStoreDown = errors.New("store is down")

func (failingKeyStore) InGlobalTx(context.Context, func(auth.GlobalTx) error) error {
	return errStoreDown
}
func (failingKeyStore) SigningKeys(context.Context) ([]*auth.SigningKey, error) {
	return nil, errStoreDown
}

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	algorithms  = []string{ES256, EdDSA, RS256}
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "https://api.example.test"
)

func testConfig(clk *testclock.Clock, alg string) Config {
	return Config{
		Issuer:         testIssuer,
		Audience:       testAudience,
		Algorithm:      alg,
		AccessTTL:      15 * time.Minute,
		Leeway:         30 * time.Second,
		RotationPeriod: 24 * time.Hour,
		PublishDelay:   10 * time.Minute,
		ReloadInterval: time.Minute,
		Secret:         testSecret,
		Now:            clk.Now,
	}
}

func newTestManager(tb testing.TB, store KeyStore, cfg Config) *Manager {
	tb.Helper()
	m, err := New(context.Background(), store, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}

func testClaims() auth.AccessClaims {
	return auth.AccessClaims{
		UserID:        "0190b3a4-7c1e-7d2a-9f00-000000000001",
		SessionID:     "0190b3a4-7c1e-7d2a-9f00-0000000000aa",
		Roles:         []string{"admin", "user"},
		EmailVerified: true,
	}
}

func issue(tb testing.TB, m *Manager) string {
	tb.Helper()
	tok, _, err := m.Issue(context.Background(), testClaims())
	if err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return tok
}

// currentKey returns the key m signs with now.
func currentKey(tb testing.TB, m *Manager) *entry {
	tb.Helper()
	e := m.keys.Load().current(m.now())
	if e == nil {
		tb.Fatal("no current key")
	}
	return e
}

// validClaims returns the claims Issue would write at now, as a map that
// tests alter to build tokens Issue never makes.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":            testIssuer,
		"sub":            "user-1",
		"aud":            testAudience,
		"exp":            now.Add(15 * time.Minute).Unix(),
		"nbf":            now.Unix(),
		"iat":            now.Unix(),
		"jti":            randomID(),
		"sid":            "session-1",
		"roles":          []string{"user"},
		"email_verified": false,
	}
}

// signWith signs claims with method and key, with the header fields of an
// access token of m's current key, overridden by header (a nil value deletes
// a field).
func signWith(tb testing.TB, m *Manager, method jwt.SigningMethod, signKey any, claims jwt.MapClaims, header map[string]any) string {
	tb.Helper()
	t := jwt.NewWithClaims(method, claims)
	t.Header["kid"] = currentKey(tb, m).id
	t.Header["typ"] = headerType
	for k, v := range header {
		if v == nil {
			delete(t.Header, k)
		} else {
			t.Header[k] = v
		}
	}
	s, err := t.SignedString(signKey)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// signRaw signs claims with m's current key.
func signRaw(tb testing.TB, m *Manager, claims jwt.MapClaims, header map[string]any) string {
	tb.Helper()
	k := currentKey(tb, m)
	return signWith(tb, m, k.method, k.private, claims, header)
}

// wantUnauthorized fails unless err is the one error Verify returns for any
// bad token: EUnauthorized, a fixed message, and the cause kept for logs.
func wantUnauthorized(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("Verify accepted the token")
	}
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.EUnauthorized {
		tb.Fatalf("err = %v, want an EUnauthorized *auth.Error", err)
	}
	if ae.Message != "invalid access token" {
		tb.Errorf("message = %q, want %q", ae.Message, "invalid access token")
	}
	if ae.Err == nil {
		tb.Error("the cause is not kept in Err")
	}
}

func newClock() *testclock.Clock {
	return testclock.At(time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.UTC))
}
