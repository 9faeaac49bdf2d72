package auth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redis"
	"github.com/talentforge/authd/internal/redis/redistest"
)

// limiters are the Limiter implementations every abuse-protection test runs
// against: in process, and in real Redis standalone and Cluster.
var limiters = []struct {
	name string
	open func(t *testing.T, clock *authtest.Clock) auth.Limiter
}{
	{"memory", func(t *testing.T, clock *authtest.Clock) auth.Limiter {
		return ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now})
	}},
	{"redis", func(t *testing.T, clock *authtest.Clock) auth.Limiter {
		return redisLimiter(t, redistest.URL(t), clock)
	}},
	{"redis-cluster", func(t *testing.T, clock *authtest.Clock) auth.Limiter {
		return redisLimiter(t, redistest.ClusterURL(t), clock)
	}},
}

func openRedis(t *testing.T, url string) *redis.Client {
	t.Helper()
	c, err := redis.Open(t.Context(), redis.Options{URL: url, ProbeInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func redisLimiter(t *testing.T, url string, clock *authtest.Clock) auth.Limiter {
	c := openRedis(t, url)
	fallback := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now})
	return ratelimit.NewRedis(c, fallback, ratelimit.RedisOptions{Prefix: redistest.Prefix(t, url), Now: clock.Now})
}

var testLimits = auth.Limits{
	LoginAccount: ratelimit.Rule{Name: "login-account", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour},
	LoginIP:      ratelimit.Rule{Name: "login-ip", Limit: 20, Period: 15 * time.Minute},
	RegisterIP:   ratelimit.Rule{Name: "register-ip", Limit: 3, Period: time.Hour},
	RefreshIP:    ratelimit.Rule{Name: "refresh-ip", Limit: 4, Period: time.Minute},
}

func forEachLimiter(t *testing.T, limits auth.Limits, fn func(t *testing.T, e *env)) {
	for _, l := range limiters {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			clock := authtest.NewClock()
			e := newEnv(t, authtest.Options{Clock: clock, Limiter: l.open(t, clock), Limits: limits})
			fn(t, e)
		})
	}
}

func login(e *env, t *testing.T, email, password, ip string) error {
	_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: password, Client: auth.Client{IP: ip}})
	return err
}

func wantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	wantCode(t, err, auth.ETooManyAttempts)
	if got := auth.ErrorRetryAfter(err); got != want {
		t.Fatalf("Retry-After %v, want %v", got, want)
	}
}

// TestLoginLockout walks the escalation of SPEC §9: 5 failures per account
// in 15 minutes, then lockouts that double, for an existing and an unknown
// email alike, until a success resets the account.
func TestLoginLockout(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			for i := range 5 {
				if err := login(e, t, email, "wrong password", "198.51.100.1"); auth.ErrorCode(err) != auth.EInvalidCredentials {
					t.Fatalf("%s attempt %d: %v", email, i+1, err)
				}
			}
			// Locked: even the right password is refused, without being checked.
			wantRetryAfter(t, login(e, t, email, pw, "198.51.100.2"), 3*time.Minute)
			e.clock.Advance(time.Minute)
			wantRetryAfter(t, login(e, t, email, pw, "198.51.100.2"), 2*time.Minute) // the lockout is not extended
			e.clock.Advance(2 * time.Minute)
			// One attempt has come back; failing it again doubles the lockout.
			wantCode(t, login(e, t, email, "wrong again", "198.51.100.1"), auth.EInvalidCredentials)
			wantRetryAfter(t, login(e, t, email, "wrong again", "198.51.100.1"), 6*time.Minute)
			e.clock.Advance(6 * time.Minute)
			wantCode(t, login(e, t, email, "wrong again", "198.51.100.1"), auth.EInvalidCredentials)
			wantCode(t, login(e, t, email, "wrong again", "198.51.100.1"), auth.EInvalidCredentials)
			wantRetryAfter(t, login(e, t, email, "wrong again", "198.51.100.1"), 12*time.Minute)
			e.clock.Advance(12 * time.Minute)
		}
		// A success resets the account: five fresh failures are allowed again.
		if err := login(e, t, "ada@example.com", pw, "198.51.100.3"); err != nil {
			t.Fatalf("login after the lockout: %v", err)
		}
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "wrong", "198.51.100.3"), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, login(e, t, "ada@example.com", "wrong", "198.51.100.3"), 3*time.Minute)
		// Another account is not affected.
		e.register(t, "bob@example.com")
		if err := login(e, t, "BOB@example.com ", pw, "198.51.100.3"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLoginLockoutIsAtomic fires 50 wrong guesses at once: no more than the
// limit may reach the password check.
func TestLoginLockoutIsAtomic(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			counts = map[auth.Code]int{}
		)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := login(e, t, "ada@example.com", "guess", "203.0.113."+string(rune('0'+i%10)))
				mu.Lock()
				counts[auth.ErrorCode(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts[auth.EInvalidCredentials] != 5 || counts[auth.ETooManyAttempts] != 45 {
			t.Fatalf("outcomes %v, want 5 invalid_credentials and 45 too_many_attempts", counts)
		}
	})
}

// TestLoginIPLimit counts failures per client IP across accounts; successful
// logins give their attempt back, so they never use the allowance up.
func TestLoginIPLimit(t *testing.T) {
	limits := testLimits
	limits.LoginIP.Limit = 3
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		for range 10 {
			if err := login(e, t, "ada@example.com", pw, "192.0.2.9"); err != nil {
				t.Fatalf("successful logins must not count: %v", err)
			}
		}
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			wantCode(t, login(e, t, email, "wrong", "192.0.2.9"), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, login(e, t, "d@example.com", "wrong", "192.0.2.9"), 5*time.Minute)
		wantRetryAfter(t, login(e, t, "ada@example.com", pw, "192.0.2.9"), 5*time.Minute)
		// Other clients are unaffected, and the refused attempt cost the
		// account nothing.
		if err := login(e, t, "ada@example.com", pw, "192.0.2.10"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRegisterAndRefreshIPLimits(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		client := auth.Client{IP: "192.0.2.77"}
		var pair *auth.TokenPair
		for i := range 3 {
			var err error
			_, pair, err = e.svc.Register(t.Context(), auth.RegisterInput{Email: string(rune('a'+i)) + "@example.com", Password: pw, Client: client})
			if err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "z@example.com", Password: pw, Client: client})
		wantRetryAfter(t, err, 20*time.Minute)
		// Another IP may still register.
		if _, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "z@example.com", Password: pw, Client: auth.Client{IP: "192.0.2.78"}}); err != nil {
			t.Fatal(err)
		}

		for range 4 {
			pair, err = e.svc.Refresh(t.Context(), pair.RefreshToken, client)
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err = e.svc.Refresh(t.Context(), pair.RefreshToken, client)
		wantRetryAfter(t, err, 15*time.Second)
		e.clock.Advance(15 * time.Second)
		if _, err := e.svc.Refresh(t.Context(), pair.RefreshToken, client); err != nil {
			t.Fatalf("refresh after waiting: %v", err)
		}
	})
}

// TestPasswordConfirmationsCountAsLogins: a stolen access token can't be
// used to guess the password through password change or account deletion.
func TestPasswordConfirmationsCountAsLogins(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		_, pair := e.register(t, "ada@example.com")
		p := e.principal(t, pair)
		for range 3 {
			wantCode(t, e.svc.ChangePassword(t.Context(), p, "guess", "a brand new passphrase"), auth.EInvalidCredentials)
		}
		for range 2 {
			wantCode(t, e.svc.DeleteMe(t.Context(), p, "guess"), auth.EInvalidCredentials)
		}
		err := e.svc.ChangePassword(t.Context(), p, pw, "a brand new passphrase")
		wantRetryAfter(t, err, 3*time.Minute)
		wantRetryAfter(t, login(e, t, "ada@example.com", pw, "192.0.2.1"), 3*time.Minute)
		e.clock.Advance(3 * time.Minute)
		if err := e.svc.ChangePassword(t.Context(), p, pw, "a brand new passphrase"); err != nil {
			t.Fatalf("change with the right password after the lockout: %v", err)
		}
	})
}
