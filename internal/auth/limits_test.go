package auth_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
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

func openRedis(t *testing.T, url string) *redisconn.Client {
	t.Helper()
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: url, ProbeInterval: 50 * time.Millisecond})
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
	LoginAccount:       auth.Rule{Name: "login-account", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour},
	LoginAccountGlobal: auth.Rule{Name: "login-account-global", Limit: 20, Period: 15 * time.Minute},
	LoginIP:            auth.Rule{Name: "login-ip", Limit: 20, Period: 15 * time.Minute},
	RegisterIP:         auth.Rule{Name: "register-ip", Limit: 3, Period: time.Hour},
	RefreshIP:          auth.Rule{Name: "refresh-ip", Limit: 4, Period: time.Minute},
	ClientIP:           auth.Rule{Name: "client-ip", Limit: 3, Period: time.Minute},
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
	_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: password, Origin: auth.Origin{IP: ip}})
	return err
}

func wantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	wantCode(t, err, auth.ETooManyAttempts)
	if got := auth.ErrorRetryAfter(err); got != want {
		t.Fatalf("Retry-After %v, want %v", got, want)
	}
}

// TestLoginLockout walks the escalation of SPEC §9 for one client IP: 5
// failures per account in 15 minutes, then lockouts that double, for an
// existing and an unknown email alike, until a success from that IP resets
// its counter.
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
			wantRetryAfter(t, login(e, t, email, pw, "198.51.100.1"), 3*time.Minute)
			e.clock.Advance(time.Minute)
			wantRetryAfter(t, login(e, t, email, pw, "198.51.100.1"), 2*time.Minute) // the lockout is not extended
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
		// A success resets the IP's count for the account: five fresh
		// failures are allowed again.
		if err := login(e, t, "ada@example.com", pw, "198.51.100.1"); err != nil {
			t.Fatalf("login after the lockout: %v", err)
		}
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "wrong", "198.51.100.1"), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, login(e, t, "ada@example.com", "wrong", "198.51.100.1"), 3*time.Minute)
		// Another account is not affected.
		e.register(t, "bob@example.com")
		if err := login(e, t, "BOB@example.com ", pw, "198.51.100.1"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLoginLockoutIsAtomic fires 50 wrong guesses at once: no more than the
// limit may reach the password check, whether they come from one client IP
// (the per-IP count of the account) or from 50 (the account-wide count).
func TestLoginLockoutIsAtomic(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		e.register(t, "bob@example.com")
		guess := func(email string, ip func(i int) string) map[auth.Code]int {
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				counts = map[auth.Code]int{}
			)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := login(e, t, email, "guess", ip(i))
					mu.Lock()
					counts[auth.ErrorCode(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return counts
		}
		counts := guess("ada@example.com", func(int) string { return "203.0.113.1" })
		if counts[auth.EInvalidCredentials] != 5 || counts[auth.ETooManyAttempts] != 45 {
			t.Fatalf("one IP: outcomes %v, want 5 invalid_credentials and 45 too_many_attempts", counts)
		}
		counts = guess("bob@example.com", func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) })
		if counts[auth.EInvalidCredentials] != 20 || counts[auth.ETooManyAttempts] != 30 {
			t.Fatalf("50 IPs: outcomes %v, want 20 invalid_credentials (the account-wide limit) and 30 too_many_attempts", counts)
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
		client := auth.Origin{IP: "192.0.2.77"}
		var pair *auth.TokenPair
		for i := range 3 {
			var err error
			_, pair, err = e.svc.Register(t.Context(), auth.RegisterInput{Email: string(rune('a'+i)) + "@example.com", Password: pw, Origin: client})
			if err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "z@example.com", Password: pw, Origin: client})
		wantRetryAfter(t, err, 20*time.Minute)
		// Another IP may still register.
		if _, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "z@example.com", Password: pw, Origin: auth.Origin{IP: "192.0.2.78"}}); err != nil {
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
// The guesses are counted per session, so they lock that session's
// confirmations and not the owner's sign-in elsewhere.
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
		if err := login(e, t, "ada@example.com", pw, "192.0.2.1"); err != nil {
			t.Fatalf("the owner's login while a session's confirmations are locked: %v", err)
		}
		e.clock.Advance(3 * time.Minute)
		if err := e.svc.ChangePassword(t.Context(), p, pw, "a brand new passphrase"); err != nil {
			t.Fatalf("change with the right password after the lockout: %v", err)
		}
	})
}

// TestStrangersDoNotBlockPasswordChange: failed logins from elsewhere, up
// to the account-wide limit, don't stop the signed-in owner from confirming
// the password.
func TestStrangersDoNotBlockPasswordChange(t *testing.T) {
	limits := testLimits
	limits.LoginAccountGlobal.Limit = 10
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		_, pair := e.register(t, "ada@example.com")
		p := e.principal(t, pair)
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "guess", "203.0.113.1"), auth.EInvalidCredentials)
		}
		for i := range 5 {
			wantCode(t, login(e, t, "ada@example.com", "guess", fmt.Sprintf("198.51.100.%d", i+1)), auth.EInvalidCredentials)
		}
		wantCode(t, login(e, t, "ada@example.com", pw, "198.51.100.99"), auth.ETooManyAttempts)
		if err := e.svc.ChangePassword(t.Context(), p, pw, "a brand new passphrase"); err != nil {
			t.Fatalf("the owner's password change after strangers' failures: %v", err)
		}
	})
}

// TestStrangerCannotLockOwnerOut: SPEC §9's per-(account, IP) count. A
// stranger's failures lock that stranger's IP out of the account, and
// nobody else.
func TestStrangerCannotLockOwnerOut(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "guess", "203.0.113.66"), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, login(e, t, "ada@example.com", pw, "203.0.113.66"), 3*time.Minute)
		if err := login(e, t, "ada@example.com", pw, "198.51.100.7"); err != nil {
			t.Fatalf("the owner on another IP: %v", err)
		}
		// The stranger stays locked out.
		wantCode(t, login(e, t, "ada@example.com", pw, "203.0.113.66"), auth.ETooManyAttempts)
	})
}

// loginPair signs in and returns the token pair, remembered-device token
// included.
func loginPair(e *env, t *testing.T, email, ip, device string) *auth.TokenPair {
	t.Helper()
	_, pair, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: pw, DeviceToken: device, Origin: auth.Origin{IP: ip}})
	if err != nil {
		t.Fatalf("login %s from %s: %v", email, ip, err)
	}
	return pair
}

func loginDevice(e *env, t *testing.T, email, password, ip, device string) error {
	_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: password, DeviceToken: device, Origin: auth.Origin{IP: ip}})
	return err
}

// TestRememberedDeviceIsNotLockedByStrangers: an attacker sharing the
// owner's IP (a NAT, a café) locks that IP out of the account and uses up
// the IP's login allowance; the owner's device, which signed in before,
// still signs in.
func TestRememberedDeviceIsNotLockedByStrangers(t *testing.T) {
	limits := testLimits
	limits.LoginIP.Limit = 6
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		const shared = "192.0.2.50"
		pair := loginPair(e, t, "ada@example.com", shared, "")
		if pair.DeviceToken == "" {
			t.Fatal("a sign-in returned no remembered-device token")
		}
		if want := e.clock.Now().Add(auth.DeviceTokenTTL); !pair.DeviceExpiresAt.Equal(want) {
			t.Errorf("device token expires at %v, want %v", pair.DeviceExpiresAt, want)
		}
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "guess", shared), auth.EInvalidCredentials)
		}
		wantCode(t, login(e, t, "someone@example.com", "guess", shared), auth.EInvalidCredentials)
		wantCode(t, login(e, t, "ada@example.com", pw, shared), auth.ETooManyAttempts)
		wantCode(t, login(e, t, "someone@example.com", pw, shared), auth.ETooManyAttempts) // the IP's allowance is gone too

		again := loginPair(e, t, "ada@example.com", shared, pair.DeviceToken)
		if again.DeviceToken == "" {
			t.Fatal("a remembered device's sign-in returned no device token")
		}
		// The renewed token works as well.
		loginPair(e, t, "ada@example.com", shared, again.DeviceToken)
	})
}

// TestRememberedDeviceHasItsOwnBudget: a stolen device token is no licence
// to guess: its failures are counted per (account, device) with the same
// threshold, and don't touch the owner's other ways in.
func TestRememberedDeviceHasItsOwnBudget(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		device := loginPair(e, t, "ada@example.com", "192.0.2.50", "").DeviceToken
		for i := range 5 {
			wantCode(t, loginDevice(e, t, "ada@example.com", "guess", fmt.Sprintf("203.0.113.%d", i+1), device), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, loginDevice(e, t, "ada@example.com", pw, "203.0.113.9", device), 3*time.Minute)
		// Without the token the owner (or anyone) is counted per IP as usual.
		if err := login(e, t, "ada@example.com", pw, "192.0.2.50"); err != nil {
			t.Fatalf("the owner without the device token: %v", err)
		}
		e.clock.Advance(3 * time.Minute)
		loginPair(e, t, "ada@example.com", "192.0.2.50", device)
		// The success reset the device's count.
		for range 5 {
			wantCode(t, loginDevice(e, t, "ada@example.com", "guess", "192.0.2.50", device), auth.EInvalidCredentials)
		}
		wantCode(t, loginDevice(e, t, "ada@example.com", "guess", "192.0.2.50", device), auth.ETooManyAttempts)
	})
}

// TestAccountWideLimit: failures spread over many IPs (distributed guessing)
// trip the account-wide limit, for every client but a remembered device.
func TestAccountWideLimit(t *testing.T) {
	limits := testLimits
	limits.LoginAccountGlobal.Limit = 10
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		device := loginPair(e, t, "ada@example.com", "192.0.2.50", "").DeviceToken
		for i := range 10 {
			wantCode(t, login(e, t, "ada@example.com", "guess", fmt.Sprintf("198.51.100.%d", i+1)), auth.EInvalidCredentials)
		}
		// 15m / 10: one attempt comes back every 90s.
		wantRetryAfter(t, login(e, t, "ada@example.com", "guess", "198.51.100.11"), 90*time.Second)
		wantRetryAfter(t, login(e, t, "ada@example.com", pw, "192.0.2.77"), 90*time.Second)
		loginPair(e, t, "ada@example.com", "192.0.2.77", device)
		// The refused attempts cost the IPs nothing of their own counts.
		e.clock.Advance(90 * time.Second)
		if err := login(e, t, "ada@example.com", pw, "192.0.2.77"); err != nil {
			t.Fatalf("login once an attempt came back: %v", err)
		}
	})
}

// TestDeviceTokenMustBeGenuine: only a token authd issued to this account,
// unexpired and unaltered, exempts a device from the lockout of its IP.
func TestDeviceTokenMustBeGenuine(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		const owner = "192.0.2.50"
		e.register(t, "ada@example.com")
		e.register(t, "bob@example.com")
		ada := loginPair(e, t, "ada@example.com", owner, "").DeviceToken
		bob := loginPair(e, t, "bob@example.com", owner, "").DeviceToken
		if ada == "" || bob == "" {
			t.Fatal("a sign-in returned no remembered-device token")
		}
		lock := func() {
			t.Helper()
			for range 5 {
				login(e, t, "ada@example.com", "guess", owner)
			}
			wantCode(t, login(e, t, "ada@example.com", pw, owner), auth.ETooManyAttempts)
		}
		lock()
		flip := func(tok string, i int) string {
			b := []byte(tok)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		for name, tok := range map[string]string{
			"another account's":     bob,
			"altered at the end":    flip(ada, len(ada)-2),
			"altered in the middle": flip(ada, len(ada)/2),
			"truncated":             ada[:len(ada)-4],
			"extended":              ada + "AAAA",
			"not a token":           "remember me",
			"only newlines":         strings.Repeat("\n", len(ada)),
			"a newline inside":      ada[:10] + "\n" + ada[11:],
			"another service's":     otherServiceDevice(t, e, "ada@example.com", owner),
		} {
			if err := loginDevice(e, t, "ada@example.com", pw, owner, tok); auth.ErrorCode(err) != auth.ETooManyAttempts {
				t.Errorf("%s device token: %v, want too_many_attempts", name, err)
			}
		}
		loginPair(e, t, "ada@example.com", owner, ada) // the genuine one works

		// An expired token: the lockout has passed meanwhile, so lock again.
		e.clock.Advance(auth.DeviceTokenTTL)
		lock()
		if err := loginDevice(e, t, "ada@example.com", pw, owner, ada); auth.ErrorCode(err) != auth.ETooManyAttempts {
			t.Errorf("expired device token: %v, want too_many_attempts", err)
		}
	})
}

// otherServiceDevice signs in through a service with another secret over
// the same database and returns its device token.
func otherServiceDevice(t *testing.T, e *env, email, ip string) string {
	t.Helper()
	svc, _ := authtest.NewService(t, e.store, authtest.Options{Clock: e.clock, Secret: "another-secret-0123456789abcdefghijklmnopqrstuvwxyz"})
	_, pair, err := svc.Login(t.Context(), auth.LoginInput{Email: email, Password: pw, Origin: auth.Origin{IP: ip}})
	if err != nil {
		t.Fatal(err)
	}
	return pair.DeviceToken
}

// TestDeviceTokenOfADeletedAccount: a device token names the account it was
// issued to, not merely its address: once the address belongs to a new
// account, the old token exempts nothing.
func TestDeviceTokenOfADeletedAccount(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		const ip = "192.0.2.50"
		_, first := e.register(t, "ada@example.com")
		old := loginPair(e, t, "ada@example.com", ip, "").DeviceToken
		if err := e.svc.DeleteMe(t.Context(), e.principal(t, first), pw); err != nil {
			t.Fatal(err)
		}
		e.register(t, "ada@example.com")
		for range 5 {
			wantCode(t, login(e, t, "ada@example.com", "guess", ip), auth.EInvalidCredentials)
		}
		if err := loginDevice(e, t, "ada@example.com", pw, ip, old); auth.ErrorCode(err) != auth.ETooManyAttempts {
			t.Fatalf("the deleted account's device token: %v, want too_many_attempts", err)
		}
	})
}

// TestIPv6ClientsCountedPerPrefix: an IPv6 client holds a whole /64, so
// per-IP limits count the /64 (and IPv4, mapped or not, per address);
// sessions still record the full address.
func TestIPv6ClientsCountedPerPrefix(t *testing.T) {
	limits := testLimits
	limits.LoginIP.Limit = 3
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:fffe"} {
			wantCode(t, login(e, t, fmt.Sprintf("u%d@example.com", i), "guess", ip), auth.EInvalidCredentials)
		}
		wantRetryAfter(t, login(e, t, "u9@example.com", "guess", "2001:db8:1:2:abcd::9"), 5*time.Minute)
		wantCode(t, login(e, t, "u9@example.com", "guess", "2001:db8:1:3::1"), auth.EInvalidCredentials)

		for i := range 3 {
			wantCode(t, login(e, t, fmt.Sprintf("v%d@example.com", i), "guess", "192.0.2.7"), auth.EInvalidCredentials)
		}
		wantCode(t, login(e, t, "v9@example.com", "guess", "::ffff:192.0.2.7"), auth.ETooManyAttempts)
		wantCode(t, login(e, t, "v9@example.com", "guess", "192.0.2.8"), auth.EInvalidCredentials)

		// Registrations per /64 too.
		for i := range 3 {
			if _, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: fmt.Sprintf("w%d@example.com", i), Password: pw, Origin: auth.Origin{IP: fmt.Sprintf("2001:db8:9:9::%x", i+1)}}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "w9@example.com", Password: pw, Origin: auth.Origin{IP: "2001:db8:9:9:1::1"}})
		wantCode(t, err, auth.ETooManyAttempts)

		// The session keeps the client's own address.
		pair := loginPair(e, t, "ada@example.com", "2001:db8:1:3::abc", "")
		sessions, _, err := e.svc.Sessions(t.Context(), e.principal(t, pair), auth.SessionQuery{})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(sessions, func(s *auth.Session) bool { return s.ID == pair.SessionID })
		if i < 0 || sessions[i].IP != "2001:db8:1:3::abc" {
			t.Errorf("the session's IP is not the full address: %+v", sessions)
		}
	})
}

// TestIPPrefixesConfigurable: Limits.IPv6Prefix and IPv4Prefix set how
// much of an address a per-IP limit counts by.
func TestIPPrefixesConfigurable(t *testing.T) {
	limits := testLimits
	limits.LoginIP.Limit = 2
	limits.IPv4Prefix, limits.IPv6Prefix = 24, 48
	forEachLimiter(t, limits, func(t *testing.T, e *env) {
		wantCode(t, login(e, t, "a@example.com", "guess", "2001:db8:1:1::1"), auth.EInvalidCredentials)
		wantCode(t, login(e, t, "b@example.com", "guess", "2001:db8:1:ffff::1"), auth.EInvalidCredentials)
		wantCode(t, login(e, t, "c@example.com", "guess", "2001:db8:1:abcd::1"), auth.ETooManyAttempts)
		wantCode(t, login(e, t, "c@example.com", "guess", "2001:db8:2::1"), auth.EInvalidCredentials)

		wantCode(t, login(e, t, "a@example.com", "guess", "192.0.2.1"), auth.EInvalidCredentials)
		wantCode(t, login(e, t, "b@example.com", "guess", "192.0.2.200"), auth.EInvalidCredentials)
		wantCode(t, login(e, t, "c@example.com", "guess", "192.0.2.9"), auth.ETooManyAttempts)
		wantCode(t, login(e, t, "c@example.com", "guess", "192.0.3.9"), auth.EInvalidCredentials)
	})
}

// recordingLimiter remembers every key a Limiter is asked about.
type recordingLimiter struct {
	auth.Limiter
	mu   sync.Mutex
	keys []string
}

func (r *recordingLimiter) Allow(ctx context.Context, rule auth.Rule, key string, cost int) (auth.Decision, error) {
	r.record(key)
	return r.Limiter.Allow(ctx, rule, key, cost)
}

func (r *recordingLimiter) Reset(ctx context.Context, rule auth.Rule, key string) error {
	r.record(key)
	return r.Limiter.Reset(ctx, rule, key)
}

func (r *recordingLimiter) Batch(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	for _, op := range ops {
		r.record(op.Key)
	}
	return r.Limiter.Batch(ctx, ops)
}

func (r *recordingLimiter) AllowAll(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	for _, op := range ops {
		r.record(op.Key)
	}
	return r.Limiter.AllowAll(ctx, ops)
}

func (r *recordingLimiter) record(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, key)
}

func (r *recordingLimiter) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

// TestMalformedEmailIsRefusedBeforeLimiting: an address that can't be an
// account's is refused as invalid before any limiter key is made from it.
func TestMalformedEmailIsRefusedBeforeLimiting(t *testing.T) {
	clock := authtest.NewClock()
	rec := &recordingLimiter{Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now})}
	e := newEnv(t, authtest.Options{Clock: clock, Limiter: rec, Limits: testLimits})
	for name, email := range map[string]string{
		"10 KB":               strings.Repeat("a", 10<<10) + "@example.com",
		"255 bytes":           strings.Repeat("a", 255-len("@example.com")) + "@example.com",
		"not an address":      "ada at example.com",
		"a display name":      "Ada <ada@example.com>",
		"a control character": "ada\x00@example.com",
	} {
		wantCode(t, login(e, t, email, pw, "192.0.2.1"), auth.EInvalid)
		if keys := rec.seen(); len(keys) != 0 {
			t.Fatalf("%s: the limiter saw %d keys", name, len(keys))
		}
	}
}

// maxLimiterKey is the size no limiter key may exceed, whatever the input.
const maxLimiterKey = 256

// TestLimiterKeysAreBounded: the longest valid email, long client
// addresses and device tokens never make a limiter key longer than
// maxLimiterKey.
func TestLimiterKeysAreBounded(t *testing.T) {
	clock := authtest.NewClock()
	rec := &recordingLimiter{Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now})}
	e := newEnv(t, authtest.Options{Clock: clock, Limiter: rec, Limits: testLimits})
	// 254 bytes, with DNS labels of at most 63 bytes.
	longest := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 62) + "." + strings.Repeat("c", 62) + "." + strings.Repeat("d", 59) + ".com"
	longIP := strings.Repeat("x", 10<<10)
	_, pair, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: longest, Password: pw, Origin: auth.Origin{IP: "2001:db8::1"}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, login(e, t, longest, "guess", longIP), auth.EInvalidCredentials)
	wantCode(t, login(e, t, longest, "guess", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), auth.EInvalidCredentials)
	device := loginPair(e, t, longest, longIP, "").DeviceToken
	wantCode(t, loginDevice(e, t, longest, "guess", longIP, device), auth.EInvalidCredentials)
	wantCode(t, loginDevice(e, t, longest, "guess", longIP, strings.Repeat("d", 10<<10)), auth.EInvalidCredentials)
	if _, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{IP: longIP}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AuthenticateClient(t.Context(), "0190c0de-0000-7000-8000-000000000000", "secret", auth.Origin{IP: longIP})
	wantCode(t, err, auth.EInvalidClient)
	wantCode(t, e.svc.ChangePassword(t.Context(), e.principal(t, pair), "guess", "a brand new passphrase"), auth.EInvalidCredentials)

	keys := rec.seen()
	if len(keys) == 0 {
		t.Fatal("the limiter saw no key")
	}
	for _, k := range keys {
		if len(k) > maxLimiterKey {
			t.Errorf("limiter key of %d bytes (%.40q…), want at most %d", len(k), k, maxLimiterKey)
		}
	}
}

// TestClientAuthenticationLimitedPerIP: failed service-client
// authentications are counted per client IP (successful ones give their
// attempt back), and past the limit every attempt from the IP is refused
// before the client is looked up.
func TestClientAuthenticationLimitedPerIP(t *testing.T) {
	forEachLimiter(t, testLimits, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		c, secret, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "billing"})
		if err != nil {
			t.Fatal(err)
		}
		from := auth.Origin{IP: "192.0.2.9"}
		for range 10 {
			if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret, from); err != nil {
				t.Fatalf("successful authentications must not count: %v", err)
			}
		}
		for _, id := range []string{c.ID, "0190c0de-0000-7000-8000-000000000000", "not-an-id"} {
			_, err := e.svc.AuthenticateClient(ctx, id, "wrong", from)
			wantCode(t, err, auth.EInvalidClient)
		}
		_, err = e.svc.AuthenticateClient(ctx, c.ID, secret, from)
		wantRetryAfter(t, err, 20*time.Second)
		if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret, auth.Origin{IP: "192.0.2.10"}); err != nil {
			t.Fatalf("another IP: %v", err)
		}
		e.clock.Advance(20 * time.Second)
		if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret, from); err != nil {
			t.Fatalf("after waiting: %v", err)
		}
	})
}

// An empty password confirmation is refused as invalid by every operation
// that asks for one, and costs none of the session's attempts.
func TestEmptyPasswordConfirmation(t *testing.T) {
	e := newEnv(t, authtest.Options{Limits: auth.Limits{
		LoginAccount: auth.Rule{Name: auth.RuleLoginAccount, Limit: 1, Period: time.Hour},
	}})
	ctx := t.Context()
	_, pair := e.register(t, "ada@example.com")
	p := e.principal(t, pair)
	for range 3 {
		wantCode(t, e.svc.ChangePassword(ctx, p, "", pw+"!"), auth.EInvalid)
		wantCode(t, e.svc.DeleteMe(ctx, p, ""), auth.EInvalid)
	}
	// The one attempt the rule allows is still there.
	if err := e.svc.ChangePassword(ctx, p, pw, pw+"!"); err != nil {
		t.Fatal(err)
	}
}
