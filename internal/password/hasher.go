package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/talentforge/authd/internal/auth"
)

// Params are the argon2id cost parameters of a hash. Raising them makes every
// guess of an attacker who stole the database cost more, and every login too.
type Params struct {
	Memory  uint32 // KiB of memory one hash uses
	Time    uint32 // passes over that memory
	Threads uint8  // lanes computed in parallel
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key stored in the hash
}

// DefaultParams are OWASP's minimum for argon2id (19 MiB, two passes, one
// lane) with the salt and key sizes RFC 9106 recommends (128 and 256 bits).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters, both configured and parsed from stored hashes. They
// are sanity bounds, not recommendations: they keep a corrupt or hostile
// stored hash from making Verify allocate or compute without bound, and every
// hash New can be configured to produce stays within them.
const (
	maxMemory     = 4 << 20 // KiB, 4 GiB
	maxTime       = 100
	minSaltLen    = 8 // RFC 9106's minimum
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	minMemPerLane = 8 // KiB; RFC 9106 requires m >= 8*p
	// maxBcryptCost bounds imported bcrypt hashes: each step doubles the work,
	// and cost 16 already takes seconds.
	maxBcryptCost = 16
)

// Policy floors from NIST SP 800-63B: at least 8 characters, and a maximum of
// at least 64 so that passphrases fit.
const (
	minMinLength = 8
	minMaxLength = 64
)

// Config configures a Hasher. Zero fields take the defaults documented on
// each field; a zero field inside Params takes the one of DefaultParams.
type Config struct {
	// Params are the parameters of new hashes. Verify accepts hashes made with
	// other parameters and reports that they should be re-hashed.
	Params Params
	// MinLength is the shortest password Check accepts, in Unicode code points
	// after NFKC normalisation. Default 8, which is also the lowest allowed.
	MinLength int
	// MaxLength is the longest password Check accepts, counted the same way.
	// Default 1024; at least 64.
	MaxLength int
	// MaxConcurrent is how many hashes may be computed at once; each holds
	// Params.Memory KiB while it runs. Default runtime.GOMAXPROCS(0), which
	// honours a container's CPU limit (runtime.NumCPU does not), because
	// hashing is CPU-bound and more parallel hashes than CPUs only add memory.
	MaxConcurrent int
	// QueueTimeout is how long a call waits for a hashing slot before failing
	// with auth.EUnavailable. Default 2s.
	QueueTimeout time.Duration
}

// withDefaults returns c with its zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	p, d := &c.Params, DefaultParams
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if c.MinLength == 0 {
		c.MinLength = 8
	}
	if c.MaxLength == 0 {
		c.MaxLength = 1024
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if c.QueueTimeout == 0 {
		c.QueueTimeout = 2 * time.Second
	}
	return c
}

// Validate reports, in one line, the first problem with c once defaults are
// applied: parameters argon2id can't use or outside this package's sanity
// limits, a length range below NIST's floors (minimum 8, maximum at least 64
// and at least the minimum), or a negative MaxConcurrent or QueueTimeout.
// It does not judge whether the parameters are strong enough for
// production; that is a deployment decision. New panics on a Config that
// fails Validate, so code that builds one from user input calls it first.
func (c Config) Validate() error {
	c = c.withDefaults()
	p := c.Params
	switch {
	case p.Memory < minMemPerLane*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: argon2id memory %d KiB out of range %d..%d for %d threads",
			p.Memory, minMemPerLane*uint32(p.Threads), maxMemory, p.Threads)
	case p.Time > maxTime:
		return fmt.Errorf("password: argon2id time %d above %d", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length %d out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length %d out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	case c.MinLength < minMinLength:
		return fmt.Errorf("password: minimum length %d below %d", c.MinLength, minMinLength)
	case c.MaxLength < max(c.MinLength, minMaxLength):
		return fmt.Errorf("password: maximum length %d below %d", c.MaxLength, max(c.MinLength, minMaxLength))
	case c.MaxConcurrent < 0:
		return fmt.Errorf("password: negative MaxConcurrent %d", c.MaxConcurrent)
	case c.QueueTimeout < 0:
		return fmt.Errorf("password: negative QueueTimeout %v", c.QueueTimeout)
	}
	return nil
}

// Hasher hashes and verifies passwords with bounded concurrency and checks
// them against the policy. It is safe for concurrent use; one Hasher should
// serve the whole process, since the bound is per Hasher.
type Hasher struct {
	params       Params
	minLength    int
	maxLength    int
	queueTimeout time.Duration
	slots        chan struct{} // semaphore: a send takes a slot, a receive frees it
	dummy        string        // argon2id hash at params that no password matches
}

var _ auth.PasswordHasher = (*Hasher)(nil)

// ErrMalformedHash is wrapped by the error Verify returns when the stored hash
// is not one it can check: an unknown algorithm, bad syntax or base64, or
// parameters outside sane limits. It means corrupt or foreign data in the
// database, not a wrong password; it carries no auth code, so callers report
// it as auth.EInternal.
var ErrMalformedHash = errors.New("malformed password hash")

// New returns a Hasher for cfg, whose zero fields take their defaults (see
// Config). It panics if cfg fails Validate.
func New(cfg Config) *Hasher {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	// The dummy hash that Verify checks for unknown accounts has a random key
	// rather than the hash of some password: no password matches it, it
	// costs exactly what a real hash at these parameters costs to verify,
	// and New stays cheap.
	return &Hasher{
		params:       cfg.Params,
		minLength:    cfg.MinLength,
		maxLength:    cfg.MaxLength,
		queueTimeout: cfg.QueueTimeout,
		slots:        make(chan struct{}, cfg.MaxConcurrent),
		dummy:        encodePHC(cfg.Params, randomBytes(cfg.Params.SaltLen), randomBytes(cfg.Params.KeyLen)),
	}
}

// Hash returns the argon2id hash of password, normalised to NFKC, at the
// configured parameters with a fresh random salt, in PHC string format. It
// does not apply the policy; call Check first for a new password.
//
// It returns auth.EUnavailable (with RetryAfter) when no hashing slot frees
// up within the queue timeout, and ctx's error, wrapped, when ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	pw := norm.NFKC.AppendString(nil, password)
	salt := randomBytes(h.params.SaltLen)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey(pw, salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.release()
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// with any parameters or a bcrypt hash ($2a$, $2b$, $2y$). rehash is true,
// only ever together with ok, when encoded should be replaced by Hash of the
// same password: for bcrypt, and for argon2id at parameters other than the
// configured ones.
//
// An empty encoded, meaning the account does not exist or has no password,
// verifies against a dummy hash at the configured parameters and reports
// false, so that it takes as long as a wrong password for a real account.
//
// Errors: auth.EUnavailable (with RetryAfter) when no hashing slot frees up
// in time; ctx's error, wrapped, when ctx ends first; an error wrapping
// ErrMalformedHash when encoded can't be checked. A wrong password is not an
// error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	switch {
	case encoded == "":
		// The same code path as a stored hash, so the same cost.
		_, _, err := h.verifyArgon2id(ctx, password, h.dummy)
		return false, false, err
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(ctx, password, encoded)
	case isBcrypt(encoded):
		return h.verifyBcrypt(ctx, password, encoded)
	}
	// Never put encoded in the error: errors get logged, hashes must not be.
	return false, false, fmt.Errorf("password: unknown hash algorithm: %w", ErrMalformedHash)
}

func (h *Hasher) verifyArgon2id(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	pw := norm.NFKC.AppendString(nil, password)
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// bcryptLen is the length of every bcrypt hash: "$2b$", two cost digits, "$",
// then 22 characters of salt and 31 of hash.
const bcryptLen = 60

// isBcrypt reports whether s claims to be a bcrypt hash of a variant that
// x/crypto/bcrypt computes correctly: $2a$, $2b$ and $2y$ differ only in
// bugs of old C implementations that Go's never had.
func isBcrypt(s string) bool {
	return len(s) >= 4 && s[:2] == "$2" && strings.IndexByte("aby", s[2]) >= 0 && s[3] == '$'
}

func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	// x/crypto/bcrypt parses leniently (a cost of "+9" is accepted) and
	// supports costs up to 31, days of work, so check the shape first.
	if len(encoded) != bcryptLen || encoded[6] != '$' ||
		!isDigit(encoded[4]) || !isDigit(encoded[5]) || !isBcryptBase64(encoded[7:]) {
		return false, false, fmt.Errorf("password: bcrypt hash syntax: %w", ErrMalformedHash)
	}
	if cost := int(encoded[4]-'0')*10 + int(encoded[5]-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false, false, fmt.Errorf("password: bcrypt cost %d out of range %d..%d: %w",
			cost, bcrypt.MinCost, maxBcryptCost, ErrMalformedHash)
	}
	// The system that made the hash most likely hashed the password as typed,
	// without normalising; try the normalised form too in case it did.
	// Passwords longer than 72 bytes are in effect truncated, as every bcrypt
	// implementation does.
	tries := [][]byte{[]byte(password)}
	if pw := norm.NFKC.String(password); pw != password {
		tries = append(tries, []byte(pw))
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	for _, pw := range tries {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
		switch {
		case err == nil:
			return true, true, nil
		case !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, fmt.Errorf("password: bcrypt: %v: %w", err, ErrMalformedHash)
		}
	}
	return false, false, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isBcryptBase64 reports whether s uses only bcrypt's base64 alphabet.
func isBcryptBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// acquire takes a hashing slot, waiting at most h.queueTimeout for one.
// Callers must call release once the computation is done.
func (h *Hasher) acquire(ctx context.Context) error {
	// A caller that has already gone away should not take a slot that
	// someone else is waiting for.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: waiting for a hashing slot: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	case <-t.C:
		return &auth.Error{
			Code:       auth.EUnavailable,
			Message:    "The server is busy; please try again shortly.",
			RetryAfter: time.Second,
			Err:        fmt.Errorf("no password hashing slot free within %v", h.queueTimeout),
		}
	}
}

func (h *Hasher) release() { <-h.slots }

// randomBytes returns n bytes from crypto/rand, which never fails (since Go
// 1.24 it crashes the program rather than return an error).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
