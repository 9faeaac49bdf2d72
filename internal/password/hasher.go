package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
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
	// maxPriority is the highest nice value, the lowest priority.
	maxPriority = 19
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
	// Priority, from 1 to 19, computes each hash on an OS thread of its own
	// whose nice value is Priority, so that the kernel gives request
	// handling (and a database on the same machine) the CPU first and
	// hashing what they leave: a lone login still hashes at full speed, and
	// a login flood can't starve token verification. The higher, the
	// smaller hashing's share when the CPU is contended (nice 10 weighs
	// about a tenth of nice 0, nice 19 about a seventieth), and the longer
	// a hash takes then, so more callers reach QueueTimeout. 0, the default,
	// hashes on the caller's goroutine at the process's priority. Linux
	// only: elsewhere it is accepted and has no effect. A computing thread
	// still holds one of GOMAXPROCS's slots, whatever its nice value, so
	// the process should have MaxConcurrent more of them than it would
	// otherwise (authd's serve raises GOMAXPROCS so).
	Priority int
	// Acquired, if set, is called with a hashing slot held, before the hash
	// is computed. Production leaves it nil; tests use it to keep the
	// hasher busy at a known moment instead of hoping a hash is slow enough.
	Acquired func()
	// TracerProvider makes the password.hash and password.verify spans
	// (see trace.go); nil makes none.
	TracerProvider trace.TracerProvider
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
// and at least the minimum), a negative MaxConcurrent or QueueTimeout, or a
// Priority outside 0..19.
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
	case c.Priority < 0 || c.Priority > maxPriority:
		return fmt.Errorf("password: Priority %d out of range 0..%d", c.Priority, maxPriority)
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
	priority     int    // Config.Priority; 0 where threads can't be lowered
	acquired     func() // Config.Acquired
	tracer       trace.Tracer
	slots        chan struct{} // semaphore: a send takes a slot, a receive frees it
	dummy        string        // argon2id hash at params that no password matches
	dummySalt    []byte        // of dummy, for padding with an argon2id run
	// dummyBcrypt holds, at each cost from bcrypt.MinCost to maxBcryptCost,
	// a bcrypt hash that no password matches.
	dummyBcrypt [maxBcryptCost + 1]string
	// bcryptCost is the highest cost of a bcrypt hash Verify has been given
	// (0: none yet), which every failed verification then pays.
	bcryptCost atomic.Int32

	trace  func(computation) // sees every hash computed; nil outside tests
	queued func()            // called as a caller starts to wait for a slot; nil outside tests

	metrics *hashMetrics
}

// computation is one run of a password-hashing function.
type computation struct {
	argon2id Params // the parameters of an argon2id run
	bcrypt   int    // the cost of a bcrypt run; 0 for argon2id
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
	// The dummy hashes that Verify checks for unknown accounts and pads
	// failures with (argon2id, and bcrypt at each cost) have random keys
	// rather than the hash of some password: no password matches them, each
	// costs exactly what a real hash of its kind and cost costs to verify,
	// and New stays cheap.
	salt := randomBytes(cfg.Params.SaltLen)
	h := &Hasher{
		params:       cfg.Params,
		minLength:    cfg.MinLength,
		maxLength:    cfg.MaxLength,
		queueTimeout: cfg.QueueTimeout,
		acquired:     cfg.Acquired,
		tracer:       newTracer(cfg.TracerProvider),
		slots:        make(chan struct{}, cfg.MaxConcurrent),
		dummy:        encodePHC(cfg.Params, salt, randomBytes(cfg.Params.KeyLen)),
		dummySalt:    salt,
		metrics:      newHashMetrics(),
	}
	if threadPriorities {
		h.priority = cfg.Priority
	}
	for cost := bcrypt.MinCost; cost <= maxBcryptCost; cost++ {
		h.dummyBcrypt[cost] = dummyBcrypt(cost)
	}
	return h
}

// Hash returns the argon2id hash of password, normalised to NFKC, at the
// configured parameters with a fresh random salt, in PHC string format. It
// does not apply the policy; call Check first for a new password.
//
// It returns auth.EUnavailable (with RetryAfter) when no hashing slot frees
// up within the queue timeout, and ctx's error, wrapped, when ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	ctx, span := h.startSpan(ctx, "password.hash")
	defer span.End()
	pw := norm.NFKC.AppendString(nil, password)
	salt := randomBytes(h.params.SaltLen)
	if err := h.acquireTraced(ctx); err != nil {
		return "", err
	}
	start := time.Now()
	var key []byte
	h.compute(func() { key = h.argon2id(pw, salt, h.params) })
	h.release()
	h.metrics.computed("hash", start)
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
// false. Every failure costs the same: one argon2id at the configured
// parameters and, once this Hasher has seen a bcrypt hash, bcrypt work of
// the highest cost it has seen, whatever encoded was; so a wrong password
// does not tell an unknown account from an argon2id one or from an imported
// bcrypt one. Until the first bcrypt hash is seen, a failure costs one
// argon2id, as it would without bcrypt support. See the package
// documentation for what that leaves.
//
// Errors: auth.EUnavailable (with RetryAfter) when no hashing slot frees up
// in time; ctx's error, wrapped, when ctx ends first; an error wrapping
// ErrMalformedHash when encoded can't be checked. A wrong password is not an
// error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	ctx, span := h.startSpan(ctx, "password.verify")
	defer span.End()
	unknown := encoded == ""
	if unknown {
		// The same code path as a stored hash, so the same cost.
		encoded = h.dummy
	}
	s := stored{encoded: encoded, unknown: unknown}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		if s.params, s.salt, s.key, err = parsePHC(encoded); err != nil {
			return false, false, err
		}
	case isBcrypt(encoded):
		if s.cost, err = bcryptCost(encoded); err != nil {
			return false, false, err
		}
	default:
		// Never put encoded in the error: errors get logged, hashes must not be.
		return false, false, fmt.Errorf("password: unknown hash algorithm: %w", ErrMalformedHash)
	}
	// argon2id hashes the NFKC form. A bcrypt hash from another system most
	// likely hashed the password as typed, without normalising; it is tried
	// in both forms in case that system did normalise. Passwords longer than
	// 72 bytes are in effect truncated, as every bcrypt implementation does.
	pw := norm.NFKC.AppendString(nil, password)
	tries := [][]byte{[]byte(password)}
	if string(pw) != password {
		tries = append(tries, pw)
	}

	// One slot for the check and its padding, so that a failure can't be
	// told apart by where the queue made it wait or give up.
	if err := h.acquireTraced(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	defer h.metrics.computed("verify", time.Now())
	h.compute(func() { ok, rehash, err = h.check(s, pw, tries) })
	return ok, rehash, err
}

// stored is a stored hash Verify has parsed.
type stored struct {
	encoded   string
	unknown   bool   // encoded is the dummy, standing in for no hash
	params    Params // of an argon2id hash
	salt, key []byte // of an argon2id hash
	cost      int    // of a bcrypt hash; 0 for argon2id
}

// check does Verify's computation, with a hashing slot held: it compares
// pw (the NFKC form) or tries (the forms for bcrypt) with s and pads a
// failure.
func (h *Hasher) check(s stored, pw []byte, tries [][]byte) (ok, rehash bool, err error) {
	if cost := s.cost; cost > 0 {
		ok, err := h.compareBcrypt(s.encoded, tries)
		if err != nil {
			return false, false, fmt.Errorf("password: bcrypt: %v: %w", err, ErrMalformedHash)
		}
		// Only a hash x/crypto/bcrypt could read: garbage in the database
		// must not set the price of every failed login.
		h.sawBcrypt(cost)
		if ok {
			return true, true, nil
		}
		h.padFailure(pw, tries, false, cost)
		return false, false, nil
	}
	got := h.argon2id(pw, s.salt, s.params)
	if subtle.ConstantTimeCompare(got, s.key) == 1 && !s.unknown {
		return true, s.params != h.params, nil
	}
	h.padFailure(pw, tries, true, 0)
	return false, false, nil
}

// compute runs f, one call's computation, with a hashing slot held: on
// the caller's goroutine, or with a Priority on a fresh OS thread of that
// nice value, waiting for it to end. A computation that has started is not
// abandoned when the caller's ctx ends: its slot stays taken until it
// finishes, so the bound on concurrent hashes holds.
func (h *Hasher) compute(f func()) {
	if h.priority == 0 {
		f()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: a goroutine that exits locked takes its thread
		// with it, so the lowered priority can't pass to whatever Go would
		// run on the thread next, and an unprivileged process could not
		// raise it back. A new thread per hash costs 0.35–0.6 ms
		// (BenchmarkPriorityOverhead) against 20–30 ms of argon2id, and
		// needs no pool to start or stop.
		runtime.LockOSThread()
		if err := lowerThreadPriority(h.priority); err != nil {
			// Hashing at the normal priority still answers the login;
			// the counter tells operators the setting has no effect.
			h.metrics.priorityFailed.Inc()
		}
		f()
	}()
	<-done
}

// padFailure does, after a failed check, the work that the check did not do
// and every other failure does: one argon2id at the configured parameters
// (unless argon2Done) and bcrypt work of the highest cost seen. A failed
// bcrypt check of cost bcryptDone is topped up with one comparison at each
// cost from bcryptDone up to the highest, which doubles its work at each
// step: 2^c + 2^c + 2^(c+1) + … + 2^(top-1) = 2^top.
func (h *Hasher) padFailure(pw []byte, tries [][]byte, argon2Done bool, bcryptDone int) {
	if !argon2Done {
		h.argon2id(pw, h.dummySalt, h.params)
	}
	top := int(h.bcryptCost.Load())
	if top == 0 {
		return
	}
	if bcryptDone == 0 {
		h.compareBcrypt(h.dummyBcrypt[top], tries)
		return
	}
	for c := bcryptDone; c < top; c++ {
		h.compareBcrypt(h.dummyBcrypt[c], tries)
	}
}

// sawBcrypt raises the highest bcrypt cost seen to cost.
func (h *Hasher) sawBcrypt(cost int) {
	for {
		top := h.bcryptCost.Load()
		if int32(cost) <= top || h.bcryptCost.CompareAndSwap(top, int32(cost)) {
			return
		}
	}
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

// bcryptCost checks the syntax of encoded, which isBcrypt accepted, and
// returns its cost.
func bcryptCost(encoded string) (int, error) {
	// x/crypto/bcrypt parses leniently (a cost of "+9" is accepted) and
	// supports costs up to 31, days of work, so check the shape first.
	if len(encoded) != bcryptLen || encoded[6] != '$' ||
		!isDigit(encoded[4]) || !isDigit(encoded[5]) || !isBcryptBase64(encoded[7:]) {
		return 0, fmt.Errorf("password: bcrypt hash syntax: %w", ErrMalformedHash)
	}
	cost := int(encoded[4]-'0')*10 + int(encoded[5]-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return 0, fmt.Errorf("password: bcrypt cost %d out of range %d..%d: %w",
			cost, bcrypt.MinCost, maxBcryptCost, ErrMalformedHash)
	}
	return cost, nil
}

// compareBcrypt reports whether one of tries matches encoded, a bcrypt hash
// of checked syntax. Every try runs unless one matches. An error other than
// a mismatch means x/crypto/bcrypt can't read encoded.
func (h *Hasher) compareBcrypt(encoded string, tries [][]byte) (bool, error) {
	for _, pw := range tries {
		err := h.bcrypt(encoded, pw)
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, err
		}
	}
	return false, nil
}

// dummyBcrypt returns a bcrypt hash of cost that no password matches: a
// random salt and a random hash, which cost as much to compare against as a
// real one.
func dummyBcrypt(cost int) string {
	return fmt.Sprintf("$2b$%02d$%s%s", cost, bcryptB64.EncodeToString(randomBytes(16)), bcryptB64.EncodeToString(randomBytes(23)))
}

// bcryptB64 is bcrypt's base64: its own alphabet, no padding.
var bcryptB64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// argon2id derives the key of pw at p.
func (h *Hasher) argon2id(pw, salt []byte, p Params) []byte {
	if h.trace != nil {
		h.trace(computation{argon2id: p})
	}
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// bcrypt compares pw with encoded, a bcrypt hash of checked syntax.
func (h *Hasher) bcrypt(encoded string, pw []byte) error {
	if h.trace != nil {
		h.trace(computation{bcrypt: int(encoded[4]-'0')*10 + int(encoded[5]-'0')})
	}
	return bcrypt.CompareHashAndPassword([]byte(encoded), pw)
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
		h.metrics.wait.Observe(0)
		h.onAcquired()
		return nil
	default:
	}
	start := time.Now()
	h.metrics.waiting.Add(1)
	defer func() {
		h.metrics.waiting.Add(-1)
		h.metrics.wait.Observe(time.Since(start).Seconds())
	}()
	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	if h.queued != nil {
		h.queued()
	}
	select {
	case h.slots <- struct{}{}:
		// When the slot and the end of ctx come together, select picks
		// either; a caller that has gone away must not compute a hash
		// nobody will read while others queue.
		if err := ctx.Err(); err != nil {
			h.release()
			return fmt.Errorf("password: waiting for a hashing slot: %w", err)
		}
		h.onAcquired()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	case <-t.C:
		h.metrics.rejected.Inc()
		return &auth.Error{
			Code:       auth.EUnavailable,
			Message:    "The server is busy; please try again shortly.",
			RetryAfter: time.Second,
			Err:        fmt.Errorf("no password hashing slot free within %v", h.queueTimeout),
		}
	}
}

func (h *Hasher) onAcquired() {
	if h.acquired != nil {
		h.acquired()
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
