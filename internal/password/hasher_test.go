package password

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/talentforge/authd/internal/auth"
)

// cheap are parameters that make one hash take microseconds, so that the
// tests stay fast under -race. Nothing here depends on the cost: the code
// path is the same at every parameter, and the benchmarks use DefaultParams.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newCheap(tb testing.TB) *Hasher {
	tb.Helper()
	return New(Config{Params: cheap})
}

func TestHashVerify(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)

	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// 16 bytes of salt and 32 of key are 22 and 43 unpadded base64 characters.
	format := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !format.MatchString(encoded) {
		t.Fatalf("Hash = %q, not in PHC format", encoded)
	}

	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", encoded)
	if !ok || rehash || err != nil {
		t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		ok, rehash, err := h.Verify(ctx, wrong, encoded)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}

	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if again == encoded {
		t.Error("two hashes of one password are equal; the salt is not random")
	}
}

func TestVerifyNFKC(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	// Each pair is one password as two keyboards or input methods may send it.
	pairs := []struct{ name, a, b string }{
		{"ligature", "\ufb01nal answer", "final answer"},                // "ﬁ" U+FB01
		{"combining accent", "caf\u00e9 au lait", "cafe\u0301 au lait"}, // precomposed vs e + U+0301
		{"fullwidth", "\uff30\uff21\uff33\uff33 phrase", "PASS phrase"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			for _, dir := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
				encoded, err := h.Hash(ctx, dir[0])
				if err != nil {
					t.Fatalf("Hash: %v", err)
				}
				if ok, _, err := h.Verify(ctx, dir[1], encoded); !ok || err != nil {
					t.Errorf("Verify(%q) against Hash(%q) = %v, %v; want true, nil", dir[1], dir[0], ok, err)
				}
			}
		})
	}
}

func TestVerifyRehash(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	tests := []struct {
		name   string
		params Params
		rehash bool
	}{
		{"same params", cheap, false},
		{"other memory", Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"other time", Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"other threads", Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		{"other salt length", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}, true},
		{"other key length", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := New(Config{Params: tt.params}).Hash(ctx, "s3cret passw0rd")
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(ctx, "s3cret passw0rd", encoded)
			if !ok || rehash != tt.rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.rehash)
			}
			// rehash is only reported for a verified password.
			if ok, rehash, err := h.Verify(ctx, "wrong", encoded); ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	mustBcrypt := func(t *testing.T, password string) string {
		t.Helper()
		b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	hash := mustBcrypt(t, "imported passw0rd") // x/crypto writes $2a$
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		encoded := prefix + hash[4:]
		t.Run(prefix, func(t *testing.T) {
			if ok, rehash, err := h.Verify(ctx, "imported passw0rd", encoded); !ok || !rehash || err != nil {
				t.Errorf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(ctx, "imported passw0rd!", encoded); ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}

	t.Run("unnormalised", func(t *testing.T) {
		// Another system hashed the password as typed; it still verifies as
		// typed, and its NFKC form does not.
		encoded := mustBcrypt(t, "\ufb01nal answer")
		if ok, _, err := h.Verify(ctx, "\ufb01nal answer", encoded); !ok || err != nil {
			t.Errorf("Verify(as typed) = %v, %v; want true, nil", ok, err)
		}
		if ok, _, err := h.Verify(ctx, "final answer", encoded); ok || err != nil {
			t.Errorf("Verify(normalised) = %v, %v; want false, nil", ok, err)
		}
	})
	t.Run("normalised", func(t *testing.T) {
		// Another system normalised before hashing.
		encoded := mustBcrypt(t, "final answer")
		if ok, _, err := h.Verify(ctx, "\ufb01nal answer", encoded); !ok || err != nil {
			t.Errorf("Verify(ligature) = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("longer than 72 bytes", func(t *testing.T) {
		// bcrypt implementations use the first 72 bytes; users whose long
		// password was truncated that way must still get in.
		long := strings.Repeat("0123456789", 10)
		encoded := mustBcrypt(t, long[:72])
		if ok, _, err := h.Verify(ctx, long, encoded); !ok || err != nil {
			t.Errorf("Verify(100 bytes) = %v, %v; want true, nil", ok, err)
		}
	})
}

func TestVerifyDummy(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	for _, pw := range []string{"", "any password at all", h.dummy} {
		if ok, rehash, err := h.Verify(ctx, pw, ""); ok || rehash || err != nil {
			t.Errorf("Verify(%q, \"\") = %v, %v, %v; want false, false, nil", pw, ok, rehash, err)
		}
	}
	// The dummy must cost what a real hash costs: same parameters.
	p, _, _, err := parsePHC(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	if p != h.params {
		t.Errorf("dummy hash params = %+v; want the configured %+v", p, h.params)
	}
}

// work is what one Verify computed: its argon2id runs, and its bcrypt runs
// as the sum of 2^cost, since each cost step doubles bcrypt's time. Two calls
// of equal work take the same time, whatever the clock of the machine.
type work struct {
	argon2id []Params
	bcrypt   int
}

// traceWork makes h record its computations and returns a function that
// runs verify and returns the work it did.
func traceWork(h *Hasher) func(verify func()) work {
	var w work
	h.trace = func(c computation) {
		if c.bcrypt > 0 {
			w.bcrypt += 1 << c.bcrypt
		} else {
			w.argon2id = append(w.argon2id, c.argon2id)
		}
	}
	return func(verify func()) work {
		w = work{}
		verify()
		return w
	}
}

// TestVerifyFailuresCostTheSame: a failed login must not tell an unknown
// email from an argon2id account from an imported bcrypt account. Once a
// bcrypt hash of cost C has been seen, every failed verification does one
// argon2id at the configured parameters and bcrypt work of cost C (times
// the comparisons the password needs), whichever the stored hash; before,
// the dummy costs exactly one argon2id as it always did. Successes are not
// padded: they answer differently anyway.
func TestVerifyFailuresCostTheSame(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	argon, err := h.Hash(ctx, "right passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	bcryptAt := map[int]string{}
	for _, cost := range []int{4, 5, 6} {
		b, err := bcrypt.GenerateFromPassword([]byte("right passw0rd"), cost)
		if err != nil {
			t.Fatal(err)
		}
		bcryptAt[cost] = string(b)
	}
	measure := traceWork(h)
	verify := func(password, encoded string, want bool) func() {
		return func() {
			if ok, _, err := h.Verify(ctx, password, encoded); ok != want || err != nil {
				t.Fatalf("Verify(%q, %.12s…) = %v, %v; want %v", password, encoded, ok, err, want)
			}
		}
	}
	check := func(stage string, want work, paths map[string]func()) {
		t.Helper()
		for name, v := range paths {
			if got := measure(v); !cmp.Equal(got, want, cmp.AllowUnexported(work{})) {
				t.Errorf("%s: %s did %+v; want %+v", stage, name, got, want)
			}
		}
	}
	// failures are the failed verifications of password: unknown email,
	// argon2id, and bcrypt at each cost up to top.
	failures := func(password string, top int) map[string]func() {
		paths := map[string]func(){
			"unknown email": verify(password, "", false),
			"argon2id":      verify(password, argon, false),
		}
		for cost := bcrypt.MinCost; cost <= top; cost++ {
			paths[fmt.Sprintf("bcrypt cost %d", cost)] = verify(password, bcryptAt[cost], false)
		}
		return paths
	}
	one := []Params{h.params}

	check("no bcrypt seen", work{argon2id: one}, failures("wrong passw0rd", 0))
	check("no bcrypt seen", work{argon2id: one}, map[string]func(){"argon2id success": verify("right passw0rd", argon, true)})

	// The first bcrypt hash raises the cost of every failure from then on,
	// its own included.
	check("bcrypt 5 seen", work{argon2id: one, bcrypt: 1 << 5}, map[string]func(){"bcrypt cost 5": verify("wrong passw0rd", bcryptAt[5], false)})
	check("bcrypt 5 seen", work{argon2id: one, bcrypt: 1 << 5}, failures("wrong passw0rd", 5))

	// A costlier one raises it again; cheaper bcrypt hashes are padded with
	// the costs in between (2^4 + 2^4 + 2^5 = 2^6).
	check("bcrypt 6 seen", work{argon2id: one, bcrypt: 1 << 6}, map[string]func(){"bcrypt cost 6": verify("wrong passw0rd", bcryptAt[6], false)})
	check("bcrypt 6 seen", work{argon2id: one, bcrypt: 1 << 6}, failures("wrong passw0rd", 6))
	// A password that NFKC changes is compared with bcrypt twice, as typed
	// and normalised, on every path.
	check("bcrypt 6 seen, unnormalised password", work{argon2id: one, bcrypt: 2 << 6}, failures("\ufb01nal wrong passw0rd", 6))

	check("bcrypt 6 seen", work{argon2id: one}, map[string]func(){"argon2id success": verify("right passw0rd", argon, true)})
	check("bcrypt 6 seen", work{bcrypt: 1 << 4}, map[string]func(){"bcrypt 4 success": verify("right passw0rd", bcryptAt[4], true)})
	if n := len(h.slots); n != 0 {
		t.Errorf("%d hashing slots still held", n)
	}
}

func TestVerifyMalformed(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	)
	valid := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bc := string(bcryptHash)

	tests := []struct{ name, encoded string }{
		{"plain text", "hunter22"},
		{"dollar only", "$"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"prefix only", "$argon2id$"},
		{"no params", "$argon2id$v=19$"},
		{"no hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"extra field", valid("m=64,t=1,p=1") + "$" + key},
		{"trailing dollar", valid("m=64,t=1,p=1") + "$"},
		{"memory zero", valid("m=0,t=1,p=1")},
		{"memory below 8 per lane", valid("m=15,t=1,p=2")},
		{"memory above 4 GiB", valid("m=4194305,t=1,p=1")},
		{"memory above uint32", valid("m=99999999999,t=1,p=1")},
		{"time zero", valid("m=64,t=0,p=1")},
		{"time absurd", valid("m=64,t=4294967295,p=1")},
		{"threads zero", valid("m=64,t=1,p=0")},
		{"threads above 255", valid("m=4096,t=1,p=256")},
		{"negative", valid("m=-64,t=1,p=1")},
		{"plus sign", valid("m=+64,t=1,p=1")},
		{"leading zero", valid("m=064,t=1,p=1")},
		{"space", valid("m=64, t=1,p=1")},
		{"empty value", valid("m=,t=1,p=1")},
		{"hex", valid("m=0x40,t=1,p=1")},
		{"order", valid("t=1,m=64,p=1")},
		{"missing p", valid("m=64,t=1")},
		{"keyid", valid("m=64,t=1,p=1,keyid=abc")},
		{"bad base64 salt", "$argon2id$v=19$m=64,t=1,p=1$!!!!!!!!!!!!!!!!!!!!!!$" + key},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"url base64", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2_"},
		{"non-canonical trailing bits", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdB$" + key},
		{"newline in salt", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRz\nb21lc2FsdA$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + key},
		{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5"},
		{"key too long", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("a2V5", 30)},
		{"huge", valid("m=64,t=1,p=1") + strings.Repeat("A", 1<<20)},
		{"bcrypt truncated", bc[:59]},
		{"bcrypt too long", bc + "a"},
		{"bcrypt 2x", "$2x$" + bc[4:]},
		{"bcrypt 2", "$2$" + bc[4:]},
		{"bcrypt cost 3", bc[:4] + "03" + bc[6:]},
		{"bcrypt cost 17", bc[:4] + "17" + bc[6:]},
		{"bcrypt cost 31", bc[:4] + "31" + bc[6:]},
		{"bcrypt cost sign", bc[:4] + "+9" + bc[6:]},
		{"bcrypt bad alphabet", bc[:59] + "+"},
		{"bcrypt missing separator", bc[:6] + "x" + bc[7:]},
		{"bcrypt prefix only", "$2b$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, "x", tt.encoded)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
			if code := auth.ErrorCode(err); code != auth.EInternal {
				t.Errorf("ErrorCode = %q; want %q", code, auth.EInternal)
			}
			// Errors are logged and stored hashes must not be.
			if len(tt.encoded) > 8 && strings.Contains(err.Error(), tt.encoded[len(tt.encoded)-8:]) {
				t.Errorf("error %q quotes the hash", err)
			}
			if n := len(h.slots); n != 0 {
				t.Errorf("%d hashing slots still held", n)
			}
		})
	}
}

// TestParsePHCLimits pins the edges of what parsePHC accepts without
// computing those (expensive) hashes.
func TestParsePHCLimits(t *testing.T) {
	salt, key := make([]byte, maxSaltLen), make([]byte, maxKeyLen)
	for _, p := range []Params{
		{Memory: maxMemory, Time: maxTime, Threads: 255, SaltLen: maxSaltLen, KeyLen: maxKeyLen},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: minSaltLen, KeyLen: minKeyLen},
		{Memory: 8 * 255, Time: 1, Threads: 255, SaltLen: minSaltLen, KeyLen: minKeyLen},
	} {
		encoded := encodePHC(p, salt[:p.SaltLen], key[:p.KeyLen])
		got, _, _, err := parsePHC(encoded)
		if err != nil || got != p {
			t.Errorf("parsePHC(%q) = %+v, %v; want %+v, nil", encoded, got, err, p)
		}
		if len(encoded) > maxPHCLen {
			t.Errorf("len(%q) = %d > maxPHCLen", encoded, len(encoded))
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	ctx := t.Context()
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("imported passw0rd"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// Holding the only slot through acquire makes the outcome independent of
	// timing: every call below must wait, and must give up after 10ms.
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: 10 * time.Millisecond})
	encoded, err := h.Hash(ctx, "passw0rd one")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Hash":           func() error { _, err := h.Hash(ctx, "passw0rd one"); return err },
		"Verify argon2":  func() error { _, _, err := h.Verify(ctx, "passw0rd one", encoded); return err },
		"Verify bcrypt":  func() error { _, _, err := h.Verify(ctx, "imported passw0rd", string(bcryptHash)); return err },
		"Verify unknown": func() error { _, _, err := h.Verify(ctx, "passw0rd one", ""); return err },
	}
	for name, call := range calls {
		err := call()
		if code := auth.ErrorCode(err); code != auth.EUnavailable {
			t.Errorf("%s with no free slot: error %v, code %q; want %q", name, err, code, auth.EUnavailable)
		}
		if ra := auth.ErrorRetryAfter(err); ra <= 0 {
			t.Errorf("%s with no free slot: RetryAfter = %v; want > 0", name, ra)
		}
	}
	h.release()
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s with a free slot: %v", name, err)
		}
	}
	if n := len(h.slots); n != 0 {
		t.Errorf("%d hashing slots still held", n)
	}
}

func TestConcurrencyBoundCount(t *testing.T) {
	ctx := t.Context()
	h := New(Config{Params: cheap, MaxConcurrent: 3, QueueTimeout: time.Millisecond})
	for i := range 3 {
		if err := h.acquire(ctx); err != nil {
			t.Fatalf("acquire %d of 3: %v", i+1, err)
		}
	}
	if _, err := h.Hash(ctx, "passw0rd one"); auth.ErrorCode(err) != auth.EUnavailable {
		t.Errorf("Hash with 3 of 3 slots taken: %v; want %s", err, auth.EUnavailable)
	}
	h.release()
	if _, err := h.Hash(ctx, "passw0rd one"); err != nil {
		t.Errorf("Hash with 2 of 3 slots taken: %v", err)
	}
}

func TestConcurrencyContext(t *testing.T) {
	// A queue timeout of an hour means only the context can end the wait.
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: time.Hour})

	t.Run("canceled while waiting", func(t *testing.T) {
		if err := h.acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer h.release()
		ctx, cancel := context.WithCancel(t.Context())
		// Whether cancel runs before Hash starts waiting or during the wait,
		// the result is the same.
		go cancel()
		_, err := h.Hash(ctx, "passw0rd one")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Hash = %v; want context.Canceled", err)
		}
	})
	t.Run("canceled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := h.Verify(ctx, "passw0rd one", "")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Verify = %v; want context.Canceled", err)
		}
		if n := len(h.slots); n != 0 {
			t.Errorf("a canceled call took a slot (%d held)", n)
		}
	})
}

func TestConfig(t *testing.T) {
	h := New(Config{})
	if h.params != DefaultParams || h.minLength != 8 || h.maxLength != 1024 ||
		cap(h.slots) != runtime.GOMAXPROCS(0) || h.queueTimeout != 2*time.Second {
		t.Errorf("New(Config{}) = params %+v, length %d..%d, %d slots, queue timeout %v; want the documented defaults",
			h.params, h.minLength, h.maxLength, cap(h.slots), h.queueTimeout)
	}
	if p := New(Config{Params: Params{Time: 3}}).params; p != (Params{Memory: 19456, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Errorf("zero Params fields did not take defaults: %+v", p)
	}

	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"cheap", Config{Params: cheap}, true},
		{"min length 15", Config{MinLength: 15}, true},
		{"min length 7", Config{MinLength: 7}, false},
		{"negative min length", Config{MinLength: -1}, false},
		{"max length 64", Config{MaxLength: 64}, true},
		{"max length 63", Config{MaxLength: 63}, false},
		{"max below min", Config{MinLength: 100, MaxLength: 80}, false},
		{"memory 8", Config{Params: Params{Memory: 8}}, true},
		{"memory 7", Config{Params: Params{Memory: 7}}, false},
		{"memory below 8 per lane", Config{Params: Params{Memory: 15, Threads: 2}}, false},
		{"memory above limit", Config{Params: Params{Memory: maxMemory + 1}}, false},
		{"time above limit", Config{Params: Params{Time: maxTime + 1}}, false},
		{"salt 4 bytes", Config{Params: Params{SaltLen: 4}}, false},
		{"salt 65 bytes", Config{Params: Params{SaltLen: 65}}, false},
		{"key 8 bytes", Config{Params: Params{KeyLen: 8}}, false},
		{"key 65 bytes", Config{Params: Params{KeyLen: 65}}, false},
		{"negative MaxConcurrent", Config{MaxConcurrent: -1}, false},
		{"negative QueueTimeout", Config{QueueTimeout: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v; want ok %v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("Validate = %q; want one line", err)
			}
			defer func() {
				if r := recover(); (r == nil) != tt.ok {
					t.Errorf("New panicked: %v; want panic %v", r, !tt.ok)
				}
			}()
			New(tt.cfg)
		})
	}
}

// FuzzVerify checks that no stored string makes Verify panic, that an
// argon2id hash it accepts has exactly one spelling, and that nothing
// verifies but the one password hashed here: with argon2id only against its
// own hash, so a mutated hash never verifies (bcrypt's encoding, which is
// x/crypto's, is not checked for one spelling).
func FuzzVerify(f *testing.F) {
	const seedPassword = "seed passw0rd"
	h := newCheap(f)
	// A fixed salt, not Hash's random one: the fuzzing workers are other
	// processes, which must all know the same good hash.
	salt := []byte("fixed salt, 16 B")
	good := encodePHC(cheap, salt, h.argon2id([]byte(seedPassword), salt, cheap))
	bc, err := bcrypt.GenerateFromPassword([]byte(seedPassword), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, string(bc), "", "$", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$$",
		"$argon2id$v=19$m=4194305,t=1,p=1$c29tZXNhbHQ$a2V5a2V5a2V5a2V5",
		"$2b$04$" + strings.Repeat(".", 53), "$2y$31$" + strings.Repeat("/", 53),
	} {
		f.Add(seedPassword, s)
	}
	f.Add("ｓeed passw0rd", good) // the same password in NFKC
	f.Fuzz(func(t *testing.T, password, encoded string) {
		// The fuzzer readily produces valid hashes with parameters up to the
		// limits, which take gigabytes or minutes (and even a millisecond
		// per run stalls input minimisation); those only get parsed.
		if p, _, _, err := parsePHC(encoded); err == nil && (p.Memory > 256 || p.Time > 1 || p.Threads > 4) {
			return
		}
		if isBcrypt(encoded) && len(encoded) > 6 && encoded[4:6] > "04" {
			return
		}
		ok, rehash, err := h.Verify(t.Context(), password, encoded)
		if err != nil && (ok || rehash) {
			t.Errorf("Verify = %v, %v, %v; want false, false with an error", ok, rehash, err)
		}
		if rehash && !ok {
			t.Errorf("Verify = false, true; rehash without a match")
		}
		// Both algorithms are tried with the NFKC form of the password.
		if ok && (norm.NFKC.String(password) != seedPassword || strings.HasPrefix(encoded, "$argon2id$") && encoded != good) {
			t.Errorf("Verify(%q, %q) matched; only %q was hashed, as %q", password, encoded, seedPassword, good)
		}
		if p, salt, key, err := parsePHC(encoded); err == nil {
			if again := encodePHC(p, salt, key); again != encoded {
				t.Errorf("parsePHC accepted %q, which encodes back as %q", encoded, again)
			}
		}
		_ = h.Check(password)
	})
}

// TestVerifyComparesTheWholeKey: a stored hash that differs from the right
// password's key in any single byte is refused, so a comparison of a prefix
// (or of anything less than the whole key) can't pass.
func TestVerifyComparesTheWholeKey(t *testing.T) {
	ctx := t.Context()
	h := newCheap(t)
	const pw = "correct horse battery staple"
	encoded, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		t.Fatal(err)
	}
	for i := range key {
		tampered := append([]byte(nil), key...)
		tampered[i] ^= 0x01
		ok, _, err := h.Verify(ctx, pw, encodePHC(p, salt, tampered))
		if ok || err != nil {
			t.Errorf("Verify with key byte %d flipped = %v, %v; want false, nil", i, ok, err)
		}
	}
	// A key cut short or grown is no match either.
	for _, k := range [][]byte{key[:len(key)-1], append(append([]byte(nil), key...), 0)} {
		if ok, _, _ := h.Verify(ctx, pw, encodePHC(p, salt, k)); ok {
			t.Errorf("Verify with a %d-byte key = true", len(k))
		}
	}
}

// TestConcurrencyContextRace: when a slot frees up and the caller's ctx
// ends before the caller's wait begins, the wait may pick either; in both
// cases the call fails with ctx's error and computes nothing, and the slot
// is free again for whoever still wants it.
func TestConcurrencyContextRace(t *testing.T) {
	var acquired, computed int
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: time.Hour, Acquired: func() { acquired++ }})
	h.trace = func(computation) { computed++ }
	// Enough rounds that both picks of the random select are taken (a
	// miss is 2^-64 likely); each round is deterministic in its outcome.
	for range 64 {
		if err := h.acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		acquired = 0
		ctx, cancel := context.WithCancel(t.Context())
		h.queued = func() {
			cancel()
			h.release()
		}
		_, err := h.Hash(ctx, "passw0rd one")
		h.queued = nil
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash = %v; want context.Canceled", err)
		}
		if acquired != 0 || computed != 0 {
			t.Fatalf("a canceled caller got a slot (Acquired called %d times) or computed (%d)", acquired, computed)
		}
		if n := len(h.slots); n != 0 {
			t.Fatalf("%d slots held after the canceled call; want 0", n)
		}
	}
}
