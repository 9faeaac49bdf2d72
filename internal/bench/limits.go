package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Limits are the ceilings of this machine, measured in the same run as the
// scenarios so that they share its CPU, its load and its Go version.
type Limits struct {
	// Argon2id is password verifications per second of the seeded hash on
	// GOMAXPROCS goroutines: what login can approach and not exceed.
	Argon2id float64
	// Workers is the number of goroutines that measured Argon2id and Tokens.
	Workers int
	// Tokens is access-token verifications per second (signature and
	// claims, no HTTP), 0 when not measured.
	Tokens float64
	// Bare is a net/http handler that does nothing but answer a small JSON
	// body, driven exactly like the verify scenario: what verify and me would
	// reach if authd's work cost nothing. Nil when not measured.
	Bare *Summary
}

// passwordVerifier is the part of password.Hasher the argon2id limit uses.
type passwordVerifier interface {
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
}

// measureArgon2id returns verifications of password against hash per second
// on workers goroutines over d of now's time. The hasher must allow workers
// concurrent hashes and queue long enough that none is refused.
func measureArgon2id(ctx context.Context, now func() time.Time, h passwordVerifier, password, hash string, workers int, d time.Duration) (float64, error) {
	return parallelRate(ctx, now, workers, d, func(ctx context.Context) error {
		ok, _, err := h.Verify(ctx, password, hash)
		if err == nil && !ok {
			err = errors.New("the seeded hash does not match the bench password")
		}
		return err
	})
}

// issueToken signs an access token like those authd gives a seeded user.
func issueToken(ctx context.Context, tk auth.TokenIssuer) (string, error) {
	token, _, err := tk.Issue(ctx, auth.AccessClaims{
		UserID:        "01900000-0000-7000-8000-000000000001",
		SessionID:     "01900000-0000-7000-8000-000000000002",
		Roles:         []string{auth.RoleUser},
		EmailVerified: true,
	})
	if err != nil {
		return "", fmt.Errorf("issue a token to verify: %w", err)
	}
	return token, nil
}

// measureTokens returns verifications of token per second on workers
// goroutines over d of now's time.
func measureTokens(ctx context.Context, now func() time.Time, tk auth.TokenIssuer, token string, workers int, d time.Duration) (float64, error) {
	return parallelRate(ctx, now, workers, d, func(ctx context.Context) error {
		_, err := tk.Verify(ctx, token)
		return err
	})
}

// parallelRate calls op in a loop on workers goroutines until d has elapsed
// on now (time.Now in a real run, see run) and returns completed calls per
// second. Each goroutine calls op once before the clock starts, so that the
// first calls' one-off costs (growing the heap to hold argon2id's memory,
// filling caches) are not measured. The first error of op stops the
// measurement and is returned.
func parallelRate(ctx context.Context, now func() time.Time, workers int, d time.Duration, op func(context.Context) error) (float64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		warm, wg sync.WaitGroup
		done     atomic.Int64
		t0       time.Time
		start    = make(chan struct{}) // closed once t0 is set
	)
	warm.Add(workers)
	for range workers {
		wg.Go(func() {
			err := op(ctx)
			warm.Done()
			if err != nil {
				cancel(err)
				return
			}
			<-start
			deadline := t0.Add(d)
			n := int64(0)
			for ctx.Err() == nil && now().Before(deadline) {
				if err := op(ctx); err != nil {
					cancel(err)
					break
				}
				n++
			}
			done.Add(n)
		})
	}
	warm.Wait()
	t0 = now()
	close(start)
	wg.Wait()
	elapsed := now().Sub(t0)
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return float64(done.Load()) / elapsed.Seconds(), nil
}

// bareBody is the size and shape of verify's response body.
const bareBody = `{"email_verified":true,"roles":["user"],"session_id":"01900000-0000-7000-8000-000000000002","user_id":"01900000-0000-7000-8000-000000000001"}` + "\n"

// startBare starts a bare net/http server on a free loopback port and
// returns its base URL and a function that stops it.
func startBare() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the bare handler: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(bareBody))
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// measureBare drives a bare handler like the verify scenario: n workers of
// the same kind, through client, for d of now's time, with an access token of a real
// token's length in the Authorization header (token; any string will do, the
// handler does not read it).
func measureBare(ctx context.Context, now func() time.Time, client *http.Client, n int, d time.Duration, token string) (Summary, error) {
	url, stop, err := startBare()
	if err != nil {
		return Summary{}, err
	}
	defer stop()
	t := &target{client: client, base: url}
	ws := make([]Worker, n)
	for i := range ws {
		ws[i] = &bearerWorker{t: t, path: pathVerify, token: token}
	}
	return run(ctx, now, ws, d)
}
