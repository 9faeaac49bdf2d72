package password

import (
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"
)

// threadNice returns the nice value of the calling OS thread. The raw
// getpriority system call answers 20 - nice, so that it is never negative.
func threadNice(t *testing.T) int {
	t.Helper()
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - prio
}

// TestPriority: with a Priority, every computation (a hash, a check, the
// padding of a failure, bcrypt) runs on a thread of that nice value, and
// the caller's thread keeps its own; without one, computations run at the
// process's nice value.
func TestPriority(t *testing.T) {
	ctx := t.Context()
	bc, err := bcrypt.GenerateFromPassword([]byte("imported passw0rd"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := threadNice(t)
	if base > 12 {
		t.Skipf("the test already runs at nice %d", base)
	}
	for _, tt := range []struct {
		priority, want int
	}{
		{0, base},
		{base + 7, base + 7},
	} {
		h := New(Config{Params: cheap, Priority: tt.priority})
		// The hook runs on the computing thread, which is not the test's;
		// compute waits for it, so nices is read after every write.
		var mu sync.Mutex
		var nices []int
		h.trace = func(computation) {
			mu.Lock()
			defer mu.Unlock()
			nices = append(nices, threadNice(t))
		}
		encoded, err := h.Hash(ctx, "passw0rd one")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct{ password, encoded string }{
			{"passw0rd one", encoded},          // a match: one argon2id
			{"wrong", encoded},                 // a failure
			{"imported passw0rd", string(bc)},  // bcrypt, now seen
			{"wrong", ""},                      // unknown: argon2id and bcrypt padding
			{"imported passw0rd!", string(bc)}, // bcrypt failure, argon2id padding
		} {
			if _, _, err := h.Verify(ctx, v.password, v.encoded); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		if len(nices) < 7 {
			t.Errorf("Priority %d: %d computations traced, want at least 7", tt.priority, len(nices))
		}
		for i, n := range nices {
			if n != tt.want {
				t.Errorf("Priority %d: computation %d ran at nice %d, want %d", tt.priority, i, n, tt.want)
			}
		}
		mu.Unlock()
		if n := threadNice(t); n != base {
			t.Errorf("Priority %d: the caller's thread is now at nice %d, want %d", tt.priority, n, base)
		}
	}
}
