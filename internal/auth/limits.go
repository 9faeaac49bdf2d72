package auth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"
)

// Limits are the abuse-protection rules (SPEC §9). A rule with Limit 0 is off.
//
// A password attempt is counted according to who makes it:
//   - a stranger, per (account, client IP) in LoginAccount, per account in
//     LoginAccountGlobal and per client IP in LoginIP;
//   - a remembered device (it presents the device token of an earlier
//     sign-in to the account), per (account, device) in LoginAccount only;
//   - a signed-in session confirming its password, per (account, session)
//     in LoginAccount only.
//
// So a stranger's failures lock that stranger's IP out of the account and
// nobody else; only many IPs together (LoginAccountGlobal) reach other
// strangers, and never a remembered device or a session. Accounts are
// counted by normalised email whether or not an account has it, so
// lockouts reveal nothing.
type Limits struct {
	// LoginAccount counts failed logins per (account, client) as above and
	// locks the client out of the account with a lockout that doubles with
	// each repeated refusal. A successful login resets it.
	LoginAccount Rule
	// LoginAccountGlobal counts strangers' failed logins per account across
	// every IP, against guessing spread over many addresses; a successful
	// login gives its attempt back. Set it well above LoginAccount: past it
	// every stranger is refused for the account.
	LoginAccountGlobal Rule
	// LoginIP counts strangers' failed logins per client IP, across
	// accounts: attempts are taken before the password is checked, so
	// concurrent guesses can't overshoot, and a successful login gives its
	// attempt back.
	LoginIP Rule
	// RegisterIP and RefreshIP count every request per client IP.
	RegisterIP Rule
	RefreshIP  Rule
	// ClientIP counts failed service-client authentications per client IP.
	// Past it, every attempt from the IP is refused before the client is
	// looked up. A success only checks the IP's standing and counts nothing,
	// so busy resource servers never reach it and pay one read, not two
	// writes, per call; concurrent failures can overshoot it by the number
	// in flight, which is harmless against 256-bit secrets.
	ClientIP Rule
	// MailIP counts requests for mail (forgot password, resend
	// verification) per client IP; MailAddress counts them per address,
	// known or not, so that hitting it says nothing of whether an account
	// exists, and so that nobody can flood one mailbox.
	MailIP      Rule
	MailAddress Rule
	// IPv4Prefix and IPv6Prefix are how much of a client's address the
	// per-IP counts key on (0: 32 and 64). An IPv6 subscriber is usually
	// given a whole /64, so counting single addresses would give one
	// client 2^64 allowances. IPv4-mapped IPv6 addresses count as IPv4.
	IPv4Prefix, IPv6Prefix int
}

// The names of the rules of Limits, which key their counters (in Redis, and
// in authd_rate_limited_total). The numbers come from configuration.
const (
	RuleLoginAccount       = "login-account"
	RuleLoginAccountGlobal = "login-account-global"
	RuleLoginIP            = "login-ip"
	RuleRegisterIP         = "register-ip"
	RuleRefreshIP          = "refresh-ip"
	RuleClientIP           = "client-ip"
	RuleMailIP             = "mail-ip"
	RuleMailAddress        = "mail-address"
)

// Validate reports a rule that can't be enforced.
func (l Limits) Validate() error {
	for _, r := range []Rule{l.LoginAccount, l.LoginAccountGlobal, l.LoginIP, l.RegisterIP, l.RefreshIP, l.ClientIP} {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	if l.IPv4Prefix < 0 || l.IPv4Prefix > 32 {
		return fmt.Errorf("rate limits: IPv4 prefix length %d is not between 1 and 32", l.IPv4Prefix)
	}
	if l.IPv6Prefix < 0 || l.IPv6Prefix > 128 {
		return fmt.Errorf("rate limits: IPv6 prefix length %d is not between 1 and 128", l.IPv6Prefix)
	}
	return nil
}

func errTooMany(retryAfter time.Duration) *Error {
	return &Error{Code: ETooManyAttempts, Message: "Too many attempts. Try again later.", RetryAfter: retryAfter}
}

// maxKeyLen bounds the keys handed to the limiter, which the in-process
// one keeps as they are: a longer key is replaced by its hash, so no
// input, however long, makes a larger counter.
const maxKeyLen = 256

func limiterKey(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ipKey is what per-IP rules count ip by: its /IPv4Prefix or /IPv6Prefix
// prefix. Anything that is not an address (an unknown client IP is "")
// counts as it is.
func (s *core) ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	bits := cmp.Or(s.limits.IPv6Prefix, 64)
	if a.Is4() {
		bits = cmp.Or(s.limits.IPv4Prefix, 32)
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// take records one attempt under rule and returns ETooManyAttempts when it
// is refused. An empty key (no client IP known) is not limited. logAttrs
// are added to the refusal's log line (an email_hash, never an address:
// keys may hold one, so they are not logged).
func (s *core) take(ctx context.Context, rule Rule, key string, logAttrs ...any) error {
	return s.allow(ctx, rule, key, 1, logAttrs...)
}

// peek returns ETooManyAttempts when key is out of allowance under rule,
// without counting an attempt.
func (s *core) peek(ctx context.Context, rule Rule, key string) error {
	return s.allow(ctx, rule, key, 0)
}

func (s *core) allow(ctx context.Context, rule Rule, key string, cost int, logAttrs ...any) error {
	if !rule.Enabled() || key == "" {
		return nil
	}
	d, err := s.limiter.Allow(ctx, rule, limiterKey(key), cost)
	if err != nil {
		return err
	}
	if !d.Allowed {
		s.log.InfoContext(ctx, "rate limited", append([]any{"rule", rule.Name, "retry_after_s", d.RetryAfter.Seconds()}, logAttrs...)...)
		e := errTooMany(d.RetryAfter)
		e.rule = rule.Name
		return e
	}
	return nil
}

// takeIP is take for a per-IP rule.
func (s *core) takeIP(ctx context.Context, rule Rule, ip string) error {
	return s.take(ctx, rule, s.ipKey(ip))
}

// adjust applies the give-backs and resets of ops, in one round trip.
// Failing to is logged, not returned: it only makes the limits slightly
// stricter for a while (a give-back lost) or leaves a count to run out by
// itself (a reset lost).
func (s *core) adjust(ctx context.Context, ops []LimitOp) {
	if len(ops) == 0 {
		return
	}
	if _, err := s.limiter.Batch(ctx, ops); err != nil {
		s.log.WarnContext(ctx, "rate limit: give back or reset failed", "err", err)
	}
}

// attempter is who makes a password attempt, which decides the counts it
// is taken from (see Limits): a remembered device, a signed-in session, or
// otherwise a stranger known by IP.
type attempter struct {
	ip      string
	device  *device
	session string
}

// count is one count an attempt is taken from. A success resets the counts
// of the attempter's own standing with the account and gives the others
// their attempt back.
type count struct {
	rule  Rule
	key   string
	reset bool
}

// counts lists who's counts for the account with the normalised email, in
// the order they are taken: the widest first, so that an IP out of
// allowance leaves the account's counts alone.
func (s *core) counts(email string, who attempter) []count {
	switch {
	case who.device != nil:
		return []count{{s.limits.LoginAccount, email + " device:" + base64.RawURLEncoding.EncodeToString(who.device.id[:]), true}}
	case who.session != "":
		return []count{{s.limits.LoginAccount, email + " session:" + who.session, true}}
	}
	ip := s.ipKey(who.ip)
	return []count{
		{s.limits.LoginIP, ip, false},
		{s.limits.LoginAccount, email + " ip:" + ip, true},
		{s.limits.LoginAccountGlobal, email, false},
	}
}

// loginAttempt takes one attempt from each of who's counts for the account
// with the normalised email before the password is checked; done reports
// the outcome: success resets who's count for the account and gives the
// others their attempt back, and an attempt that was never judged (hashing
// overloaded) is given back to all.
//
// The takes are one Limiter.AllowAll, all or nothing: a refused attempt
// costs the other counts nothing. done is one Limiter.Batch. Against Redis
// (but Cluster, see ratelimit.Redis.AllowAll) that is two round trips per
// login whatever the number of counts, and one for a refused attempt.
func (s *core) loginAttempt(ctx context.Context, email string, who attempter) (done func(outcome loginOutcome), err error) {
	var counts []count
	var takes []LimitOp
	for _, c := range s.counts(email, who) {
		if !c.rule.Enabled() || c.key == "" {
			continue
		}
		c.key = limiterKey(c.key)
		counts = append(counts, c)
		takes = append(takes, LimitOp{Rule: c.rule, Key: c.key, Cost: 1})
	}
	if len(takes) == 0 {
		return func(loginOutcome) {}, nil
	}
	ds, err := s.limiter.AllowAll(ctx, takes)
	if err != nil {
		return nil, err
	}
	if i := len(ds) - 1; i >= 0 && !ds[i].Allowed {
		rule, d := counts[i].rule, ds[i]
		s.log.InfoContext(ctx, "rate limited", "rule", rule.Name, "retry_after_s", d.RetryAfter.Seconds(), "email_hash", s.emailHash(email))
		e := errTooMany(d.RetryAfter)
		e.rule = rule.Name
		return nil, e
	}
	return func(outcome loginOutcome) {
		if outcome == loginFailed {
			return
		}
		ops := make([]LimitOp, len(counts))
		for i, c := range counts {
			ops[i] = LimitOp{Rule: c.rule, Key: c.key, Cost: -1}
			if outcome == loginSucceeded && c.reset {
				ops[i] = LimitOp{Rule: c.rule, Key: c.key, Reset: true}
			}
		}
		s.adjust(ctx, ops)
	}, nil
}

type loginOutcome int

const (
	loginFailed loginOutcome = iota
	loginSucceeded
	loginNotJudged
)
