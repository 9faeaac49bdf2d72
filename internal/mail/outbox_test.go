package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/mail/mailtest"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/sqlite"
	"github.com/talentforge/authd/internal/testclock"
)

// The outbox tests run on the real backends, as replicas do: a queue in
// SQLite or PostgreSQL, filled by the domain (auth.Service), drained by
// mail.Outbox through a real SMTP server (mailtest). Time is a test clock
// that moves only when a test says so; nothing sleeps.

// outboxDB is one backend's database as the outbox tests need it.
type outboxDB interface {
	authtest.Backend
	mail.OutboxStore
}

// backend opens databases of one kind.
type backend struct {
	name string
	// open returns a function that opens a new handle (a replica's pool)
	// on one fresh, migrated database.
	open func(t *testing.T, clock *testclock.Clock) func() outboxDB
}

var backends = []backend{
	{"sqlite", func(t *testing.T, clock *testclock.Clock) func() outboxDB {
		path := filepath.Join(t.TempDir(), "authd.db")
		migrated := false
		return func() outboxDB {
			db, err := sqlite.Open(t.Context(), path, sqlite.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if !migrated {
				if err := db.MigrateUp(t.Context()); err != nil {
					t.Fatal(err)
				}
				migrated = true
			}
			return db
		}
	}},
	{"postgres", func(t *testing.T, clock *testclock.Clock) func() outboxDB {
		url := pgtest.URL(t)
		migrated := false
		return func() outboxDB {
			db, err := postgres.Open(t.Context(), url, postgres.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if !migrated {
				if err := db.MigrateUp(t.Context()); err != nil {
					t.Fatal(err)
				}
				migrated = true
			}
			return db
		}
	}},
}

// eachBackend runs f as a parallel subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b))
		})
	}
}

// env is one test's world: a database, the domain writing to it, an SMTP
// server, and a clock.
type env struct {
	t      *testing.T
	clock  *testclock.Clock
	openDB func() outboxDB
	db     outboxDB
	svc    *auth.Service
	smtp   *mailtest.Server
	logs   *syncBuffer
}

func newEnv(t *testing.T, b backend) *env {
	clock := testclock.New()
	open := b.open(t, clock)
	e := &env{t: t, clock: clock, openDB: open, db: open(), smtp: mailtest.Start(t), logs: &syncBuffer{}}
	e.svc, _ = authtest.NewService(t, e.db, authtest.Options{Clock: clock})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("outbox log:\n%s", e.logs.String())
		}
	})
	return e
}

// outbox is one replica's sender: SMTP to the test server, the test clock,
// jitter that makes every backoff exact (factor 1), its own registry.
type outbox struct {
	*mail.Outbox
	reg *prometheus.Registry
}

func (e *env) outbox(db mail.OutboxStore, sender mail.Sender, change ...func(*mail.OutboxConfig)) *outbox {
	e.t.Helper()
	if db == nil {
		db = e.db
	}
	if sender == nil {
		sender = newSMTP(e.t, e.smtp.URL())
	}
	reg := prometheus.NewRegistry()
	cfg := mail.OutboxConfig{
		Now:        e.clock.Now,
		Jitter:     func() float64 { return 0.5 },
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: reg,
	}
	for _, f := range change {
		f(&cfg)
	}
	return &outbox{mail.NewOutbox(db, authtest.Composer(e.t), sender, cfg), reg}
}

// register signs a user up, which queues their verification mail.
func (e *env) register(email string) *auth.User {
	e.t.Helper()
	u, _, err := e.svc.Register(e.t.Context(), auth.RegisterInput{Email: email, Password: "correct horse battery"})
	if err != nil {
		e.t.Fatalf("register %s: %v", email, err)
	}
	return u
}

// deliver runs one pass and checks how many mails it sent.
func (o *outbox) deliver(t *testing.T, want int) {
	t.Helper()
	n, err := o.DeliverDue(t.Context())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if n != want {
		t.Fatalf("DeliverDue sent %d mails, want %d", n, want)
	}
}

// queued returns the outbox's length.
func (e *env) queued() int64 {
	e.t.Helper()
	n, _, err := e.db.OutboxStats(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// peek returns the mails due now without moving them (a claim whose lease
// ends now; it counts an attempt, as every claim does).
func (e *env) peek() []*auth.OutboxMail {
	e.t.Helper()
	now := e.clock.Now()
	mails, err := e.db.ClaimMail(e.t.Context(), now, now, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return mails
}

// undeliverable returns the user's mail.undeliverable events.
func (e *env) undeliverable(userID string) []*auth.Event {
	e.t.Helper()
	evs, err := e.db.ListEvents(e.t.Context(), auth.EventFilter{UserID: userID, Type: auth.EventMailUndeliverable, Limit: 10})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// metric returns the value of a counter or gauge of reg with the given
// labels (0 if it has no such series).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// messageIDs counts the messages the server received by Message-ID.
func messageIDs(t *testing.T, msgs []*mailtest.Message) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, m := range msgs {
		if m.ParseErr != nil || m.MessageID == "" {
			t.Fatalf("message without a Message-ID (%v)", m.ParseErr)
		}
		ids[m.MessageID]++
	}
	return ids
}

func TestOutboxDeliversOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.register("ada@example.com")
		o := e.outbox(nil, nil)
		o.deliver(t, 1)
		o.deliver(t, 0)

		msgs := e.smtp.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if len(m.To) != 1 || m.To[0] != "ada@example.com" {
			t.Errorf("sent to %v", m.To)
		}
		link := m.Link()
		prefix := authtest.UIURL + "/" + mail.VerifyEmailPath + "#token="
		if !strings.HasPrefix(link, prefix) {
			t.Fatalf("link %q, want %s…", link, prefix)
		}
		// The link works: the token in it verifies the address.
		token := strings.TrimPrefix(link, prefix)
		if err := e.svc.VerifyEmail(t.Context(), token, auth.Origin{}); err != nil {
			t.Fatalf("VerifyEmail with the mailed token: %v", err)
		}
		if got, err := e.db.User(t.Context(), u.ID); err != nil || !got.EmailVerified {
			t.Errorf("after verification: %+v, %v", got, err)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails still queued", n)
		}
		if v := metric(t, o.reg, "authd_mail_sent_total", "kind", "verify_email"); v != 1 {
			t.Errorf("authd_mail_sent_total{kind=verify_email} = %v, want 1", v)
		}
		if v := metric(t, o.reg, "authd_outbox_queued"); v != 0 {
			t.Errorf("authd_outbox_queued = %v, want 0", v)
		}
	})
}

func TestOutboxRetriesWhileSMTPIsDown(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		o := e.outbox(nil, nil)
		e.smtp.Stop()
		start := e.clock.Now()
		o.deliver(t, 0)

		// Queued still, with the attempt and its error recorded, due after
		// the first backoff (30s, jitter factor 1 here).
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want 1", n)
		}
		if v := metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "retry"); v != 1 {
			t.Errorf("failed{retry} = %v, want 1", v)
		}
		if got := e.peek(); len(got) != 0 {
			t.Fatalf("due right after a failed attempt: %+v", got[0])
		}
		e.clock.Advance(mail.DefaultMinBackoff - time.Second)
		if got := e.peek(); len(got) != 0 {
			t.Fatalf("due %v after a failed attempt, before the backoff ended", e.clock.Now().Sub(start))
		}
		e.clock.Advance(time.Second)
		got := e.peek()
		if len(got) != 1 {
			t.Fatalf("%d mails due after the backoff, want 1", len(got))
		}
		m := got[0]
		if m.Attempts != 2 { // the failed attempt and the peek
			t.Errorf("Attempts %d, want 2", m.Attempts)
		}
		if !strings.Contains(m.LastError, "connect") || strings.Contains(m.LastError, "ada@example.com") {
			t.Errorf("LastError %q: want the connection failure, without the address", m.LastError)
		}

		// The server is back: delivered once.
		e.smtp.Restart(t)
		o.deliver(t, 1)
		o.deliver(t, 0)
		if n := len(e.smtp.Messages()); n != 1 {
			t.Errorf("server received %d messages, want 1", n)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued after delivery", n)
		}
	})
}

func TestOutboxBacksOffExponentially(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		o := e.outbox(nil, nil, func(c *mail.OutboxConfig) {
			c.MinBackoff, c.MaxBackoff = time.Minute, 10*time.Minute
		})
		e.smtp.Stop()
		retries := func() float64 {
			return metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "retry")
		}
		o.deliver(t, 0)
		for i, wait := range []time.Duration{1, 2, 4, 8, 10, 10} {
			wait *= time.Minute
			before := retries()
			e.clock.Advance(wait - time.Second)
			o.deliver(t, 0)
			if retries() != before {
				t.Fatalf("retry %d came before its %v backoff", i+1, wait)
			}
			e.clock.Advance(time.Second)
			o.deliver(t, 0)
			if retries() != before+1 {
				t.Fatalf("retry %d did not come after its %v backoff", i+1, wait)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	const minB, maxB = 30 * time.Second, time.Hour
	for _, tc := range []struct {
		attempts int
		r        float64
		want     time.Duration
	}{
		{1, 0.5, 30 * time.Second},
		{2, 0.5, time.Minute},
		{3, 0.5, 2 * time.Minute},
		{7, 0.5, 32 * time.Minute},
		{8, 0.5, time.Hour}, // 64m, capped
		{100, 0.5, time.Hour},
		{1, 0, 24 * time.Second},                 // -20%
		{1, 0.999, 35988 * time.Millisecond},     // just under +20%
		{100, 0, 48 * time.Minute},               // -20% of the cap
		{100, 0.999, 4318560 * time.Millisecond}, // just under +20% of the cap
	} {
		got := mail.Backoff(tc.attempts, minB, maxB, tc.r)
		if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("Backoff(%d, r=%v) = %v, want %v", tc.attempts, tc.r, got, tc.want)
		}
	}
}

func TestOutboxJitterSpreadsRetries(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		o := e.outbox(nil, nil, func(c *mail.OutboxConfig) { c.Jitter = func() float64 { return 0 } })
		e.smtp.Stop()
		o.deliver(t, 0)
		// r = 0: 80% of the 30s backoff.
		e.clock.Advance(24*time.Second - time.Millisecond)
		if got := e.peek(); len(got) != 0 {
			t.Fatal("due before 24s")
		}
		e.clock.Advance(time.Millisecond)
		if got := e.peek(); len(got) != 1 {
			t.Fatal("not due after 24s")
		}
	})
}

func TestOutboxGivesUpAfterItsAge(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.register("ada@example.com")
		const giveUp = 3 * time.Hour
		o := e.outbox(nil, nil, func(c *mail.OutboxConfig) { c.GiveUpAfter = giveUp })
		e.smtp.Stop()
		queuedAt := e.clock.Now()
		failures := func() float64 {
			return metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "retry") +
				metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "gave_up")
		}
		// A pass a minute (passes that find nothing due are cheap), noting
		// when attempts happen.
		var attempts []time.Duration
		for i := 0; e.queued() > 0; i++ {
			if i > 300 {
				t.Fatalf("not given up after 5h; attempts at %v", attempts)
			}
			before := failures()
			o.deliver(t, 0)
			if failures() > before {
				attempts = append(attempts, e.clock.Now().Sub(queuedAt))
			}
			e.clock.Advance(time.Minute)
		}
		// Backing off, doubling, until the give-up age, whose attempt is
		// the last.
		if last := attempts[len(attempts)-1]; last != giveUp {
			t.Errorf("last attempt %v after queueing, want at the give-up age %v (attempts at %v)", last, giveUp, attempts)
		}
		if v := metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "gave_up"); v != 1 {
			t.Errorf("failed{gave_up} = %v, want 1", v)
		}
		evs := e.undeliverable(u.ID)
		if len(evs) != 1 {
			t.Fatalf("%d mail.undeliverable events, want 1", len(evs))
		}
		ev := evs[0]
		if ev.ActorType != auth.ActorSystem || ev.Outcome != auth.OutcomeFailure || ev.Reason != string(auth.MailVerifyEmail) ||
			ev.UserID != u.ID || !auth.ValidID(ev.Resource) {
			t.Errorf("event %+v", ev)
		}
		if n := len(e.smtp.Messages()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
}

func TestOutboxGivesUpARejectedRecipientAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.smtp.OnRcpt(func(to string) error {
			if strings.HasPrefix(to, "nobody@") {
				return mailtest.Reply(550, "5.1.1 No such user here")
			}
			return nil
		})
		bad := e.register("nobody@example.com")
		good := e.register("ada@example.com")
		o := e.outbox(nil, nil)
		o.deliver(t, 1)

		msgs := e.smtp.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "ada@example.com" {
			t.Fatalf("server received %d messages (%v), want ada's only", len(msgs), msgs)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued, want none: the rejected one is given up", n)
		}
		if evs := e.undeliverable(bad.ID); len(evs) != 1 {
			t.Errorf("%d mail.undeliverable events for the rejected address, want 1", len(evs))
		}
		if evs := e.undeliverable(good.ID); len(evs) != 0 {
			t.Errorf("%d mail.undeliverable events for the delivered one", len(evs))
		}
		if v := metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "gave_up"); v != 1 {
			t.Errorf("failed{gave_up} = %v, want 1", v)
		}
		if strings.Contains(e.logs.String(), "nobody@example.com") {
			t.Error("the log names the recipient's address")
		}
	})
}

func TestOutboxRetriesRefusedCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true, User: "mailer", Password: "rotated-password"})
		u := e.register("ada@example.com")
		sender := newSMTP(t, "smtp://mailer:old-password@"+srv.Addr(), mail.WithTLSConfig(srv.TLSConfig()))
		o := e.outbox(nil, sender)
		for range 3 {
			o.deliver(t, 0)
			e.clock.Advance(time.Hour)
		}
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want 1: a 535 must not drop mail", n)
		}
		if evs := e.undeliverable(u.ID); len(evs) != 0 {
			t.Fatalf("given up on a 535: %+v", evs[0])
		}
		if v := metric(t, o.reg, "authd_mail_failed_total", "kind", "verify_email", "reason", "retry"); v != 3 {
			t.Errorf("failed{retry} = %v, want 3", v)
		}
		if !strings.Contains(e.logs.String(), `"level":"ERROR","msg":"mail: the mail server refuses authd's configuration`) {
			t.Errorf("the refused configuration was not logged as an error:\n%s", e.logs.String())
		}
		if n := srv.AuthAttempts(); n != 3 {
			t.Errorf("%d AUTH attempts, want 3", n)
		}

		// The operator fixes it: the mail goes out.
		srv.SetCredentials("mailer", "old-password")
		o.deliver(t, 1)
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("server received %d messages, want 1", n)
		}
	})
}

// failingWrites is a store whose units of work fail: a process that died
// after sending, before it could mark the mail sent. failures counts down
// the ones that fail (-1: all).
type failingWrites struct {
	mail.OutboxStore
	mu       sync.Mutex
	failures int
}

var errDied = errors.New("the process died here")

func (f *failingWrites) InUserTx(ctx context.Context, userID string, fn func(auth.UserTx) error) error {
	f.mu.Lock()
	fail := f.failures != 0
	if f.failures > 0 {
		f.failures--
	}
	f.mu.Unlock()
	if fail {
		return errDied
	}
	return f.OutboxStore.InUserTx(ctx, userID, fn)
}

func TestOutboxResendsAfterACrashBetweenSendAndDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		// Replica A sends, and dies before deleting the mail.
		a := e.outbox(&failingWrites{OutboxStore: e.db, failures: -1}, nil)
		a.deliver(t, 1)
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want the one whose deletion failed", n)
		}
		// Replica B, a fresh process on another pool: nothing is due while
		// A's lease lasts, and the mail is due again once it ends.
		b := e.outbox(e.openDB(), nil)
		e.clock.Advance(mail.DefaultOutboxLease - time.Second)
		b.deliver(t, 0)
		e.clock.Advance(time.Second)
		b.deliver(t, 1)

		msgs := e.smtp.Messages()
		if len(msgs) != 2 {
			t.Fatalf("server received %d messages, want 2 (the one repeat the design allows)", len(msgs))
		}
		if msgs[0].MessageID != msgs[1].MessageID {
			t.Errorf("the repeat has Message-ID %s, the first %s: receivers can't drop it", msgs[1].MessageID, msgs[0].MessageID)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued", n)
		}
	})
}

func TestOutboxDeletesWhatItSentInsteadOfResending(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		// The deletion fails once (the database is unreachable for a
		// moment), while this replica lives on.
		o := e.outbox(&failingWrites{OutboxStore: e.db, failures: 1}, nil)
		o.deliver(t, 1)
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want 1", n)
		}
		if !strings.Contains(e.logs.String(), "sent, but not removed from the outbox") {
			t.Error("the failed deletion was not logged")
		}
		o.deliver(t, 0) // the next pass deletes it
		if n := e.queued(); n != 0 {
			t.Fatalf("%d mails queued after the next pass, want 0", n)
		}
		e.clock.Advance(mail.DefaultOutboxLease)
		o.deliver(t, 0)
		if n := len(e.smtp.Messages()); n != 1 {
			t.Errorf("server received %d messages, want 1", n)
		}
	})
}

func TestOutboxReplicasDeliverEachMailOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const mails = 30
		for i := range mails {
			e.register(fmt.Sprintf("user%d@example.com", i))
		}
		small := func(c *mail.OutboxConfig) { c.Batch = 3 }
		replicas := []*outbox{e.outbox(e.openDB(), nil, small), e.outbox(e.openDB(), nil, small)}
		start := make(chan struct{})
		var wg sync.WaitGroup
		sent := make([]int, len(replicas))
		for i, r := range replicas {
			wg.Go(func() {
				<-start
				for {
					n, err := r.DeliverDue(t.Context())
					if err != nil {
						t.Errorf("replica %d: %v", i, err)
						return
					}
					if n == 0 {
						return
					}
					sent[i] += n
				}
			})
		}
		close(start)
		wg.Wait()
		// A replica stops at its first empty pass, which may come while the
		// other still holds mails: finish what's left.
		for replicas[0].deliverAll(t) > 0 {
		}

		ids := messageIDs(t, e.smtp.Messages())
		if len(ids) != mails {
			t.Errorf("%d distinct messages, want %d", len(ids), mails)
		}
		for id, n := range ids {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued", n)
		}
		t.Logf("replicas sent %v", sent)
	})
}

func (o *outbox) deliverAll(t *testing.T) int {
	t.Helper()
	n, err := o.DeliverDue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOutboxGivesUpAPayloadThatDoesNotOpen(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		// Queued by a service sealing under another secret (the secret was
		// rotated, say).
		tmpl, err := mail.Load("")
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := mail.NewComposer(tmpl, mail.ComposerConfig{
			Product: "authd test", From: "no-reply@authd.test", UIURL: authtest.UIURL, Secret: []byte("another secret, not the test one"),
		})
		if err != nil {
			t.Fatal(err)
		}
		svc, _ := authtest.NewService(t, e.db, authtest.Options{Clock: e.clock, Mailer: foreign})
		u, _, err := svc.Register(t.Context(), auth.RegisterInput{Email: "ada@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		o := e.outbox(nil, nil)
		o.deliver(t, 0)
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued, want none", n)
		}
		if evs := e.undeliverable(u.ID); len(evs) != 1 {
			t.Errorf("%d mail.undeliverable events, want 1", len(evs))
		}
		if n := len(e.smtp.Messages()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
}

// clockSender sends through next and moves the clock forward by d for
// each message, as a slow server would.
type clockSender struct {
	next  mail.Sender
	clock *testclock.Clock
	d     time.Duration
}

func (s clockSender) Send(ctx context.Context, m *mail.Message) error {
	s.clock.Advance(s.d)
	return s.next.Send(ctx, m)
}

func TestOutboxSendsNoMailPastItsLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		for i := range 3 {
			e.register(fmt.Sprintf("user%d@example.com", i))
		}
		slow := clockSender{newSMTP(t, e.smtp.URL()), e.clock, 20 * time.Second}
		o := e.outbox(nil, slow, func(c *mail.OutboxConfig) {
			c.Batch, c.Lease, c.SendTimeout = 3, time.Minute, 30*time.Second
		})
		// Two sends take 40s of the 60s lease; the 20s left can't hold a
		// third: it is released, due at once.
		o.deliver(t, 2)
		if got := e.peek(); len(got) != 1 {
			t.Fatalf("%d mails due right after the pass, want the released one", len(got))
		}
	})
}

// blockingSender holds every send until released.
type blockingSender struct {
	next     mail.Sender
	sending  chan struct{}
	released chan struct{}
}

func (s *blockingSender) Send(ctx context.Context, m *mail.Message) error {
	s.sending <- struct{}{}
	<-s.released
	return s.next.Send(ctx, m)
}

func TestOutboxStopFinishesTheSendUnderWay(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		e.register("bob@example.com")
		blocking := &blockingSender{next: newSMTP(t, e.smtp.URL()), sending: make(chan struct{}), released: make(chan struct{})}
		o := e.outbox(nil, blocking)
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			o.Run(ctx)
			close(done)
		}()
		<-blocking.sending // the first mail is being sent
		stop()             // SIGTERM
		close(blocking.released)
		<-done

		// The send under way finished and was recorded; the other claimed
		// mail was released for any replica, at once.
		msgs := e.smtp.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages, want 1", len(msgs))
		}
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want 1", n)
		}
		left := e.peek()
		if len(left) != 1 {
			t.Fatalf("%d mails due now, want the released one", len(left))
		}
		if left[0].Kind != auth.MailVerifyEmail {
			t.Errorf("left %+v", left[0])
		}
	})
}

func TestOutboxRunDelivers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		o := e.outbox(nil, nil, func(c *mail.OutboxConfig) { c.PollInterval = 10 * time.Millisecond })
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			o.Run(ctx)
			close(done)
		}()
		defer func() {
			stop()
			<-done
		}()
		e.register("ada@example.com")
		e.smtp.WaitFor(t, 1, 10*time.Second)
		e.register("bob@example.com")
		e.smtp.WaitFor(t, 2, 10*time.Second)
	})
}

func TestOutboxGauges(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		e.clock.Advance(time.Minute)
		e.register("bob@example.com")
		e.clock.Advance(9 * time.Minute)
		o := e.outbox(nil, nil)
		e.smtp.Stop()
		o.deliver(t, 0)
		if v := metric(t, o.reg, "authd_outbox_queued"); v != 2 {
			t.Errorf("authd_outbox_queued = %v, want 2", v)
		}
		if v := metric(t, o.reg, "authd_outbox_oldest_age_seconds"); v != 600 {
			t.Errorf("authd_outbox_oldest_age_seconds = %v, want 600", v)
		}
		e.smtp.Restart(t)
		e.clock.Advance(time.Hour)
		o.deliver(t, 2)
		if v := metric(t, o.reg, "authd_outbox_queued"); v != 0 {
			t.Errorf("authd_outbox_queued = %v after delivery, want 0", v)
		}
		if v := metric(t, o.reg, "authd_outbox_oldest_age_seconds"); v != 0 {
			t.Errorf("authd_outbox_oldest_age_seconds = %v after delivery, want 0", v)
		}
	})
}

func TestOutboxToTheLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		var buf syncBuffer
		o := e.outbox(nil, mail.NewLog(slog.New(slog.NewJSONHandler(&buf, nil))))
		o.deliver(t, 1)
		if !strings.Contains(buf.String(), authtest.UIURL+"/verify-email#token=") {
			t.Errorf("log has no verification link:\n%s", buf.String())
		}
	})
}

// logRecords returns the outbox's log records with the given message.
func (e *env) logRecords(msg string) []map[string]any {
	e.t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(e.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			e.t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			recs = append(recs, rec)
		}
	}
	return recs
}

// forgotPassword asks for a reset link for email, which queues its mail.
func (e *env) forgotPassword(email string) {
	e.t.Helper()
	if err := e.svc.ForgotPassword(e.t.Context(), email, auth.Origin{}); err != nil {
		e.t.Fatalf("forgot password %s: %v", email, err)
	}
}

func TestOutboxLogsEachMailSent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.register("ada@example.com")
		o := e.outbox(nil, nil)
		o.deliver(t, 1)

		msgs := e.smtp.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages, want 1", len(msgs))
		}
		recs := e.logRecords("mail sent")
		if len(recs) != 1 {
			t.Fatalf("%d \"mail sent\" log records, want 1:\n%s", len(recs), e.logs.String())
		}
		rec := recs[0]
		id, _ := rec["mail_id"].(string)
		if rec["level"] != "INFO" || rec["kind"] != string(auth.MailVerifyEmail) || !auth.ValidID(id) ||
			rec["message_id"] != msgs[0].MessageID || rec["attempts"] != float64(1) {
			t.Errorf("log record %v: want INFO with the kind, mail id, Message-ID %s and attempts 1", rec, msgs[0].MessageID)
		}
		if strings.Contains(e.logs.String(), "ada@example.com") {
			t.Errorf("the log names the recipient's address:\n%s", e.logs.String())
		}
	})
}

// TestOutboxDropsAMailWhoseLinkExpired: a reset mail held up by an SMTP
// outage longer than its link works is not sent when the server is back,
// but given up, audited and counted; the link would not have worked, and
// the mail would have said it works for an hour.
func TestOutboxDropsAMailWhoseLinkExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.register("ada@example.com")
		o := e.outbox(nil, nil)
		o.deliver(t, 1) // the verification mail, before the outage
		before := len(e.smtp.Messages())

		e.smtp.Stop()
		asked := e.clock.Now()
		e.forgotPassword("ada@example.com")
		o.deliver(t, 0) // fails, due again after a backoff
		if n := e.queued(); n != 1 {
			t.Fatalf("%d mails queued, want the reset mail", n)
		}
		// The server comes back as the link expires (the default 1h): a
		// link that works until then does not work then.
		e.clock.Advance(asked.Add(time.Hour).Sub(e.clock.Now()))
		e.smtp.Restart(t)
		o.deliver(t, 0)

		if n := len(e.smtp.Messages()) - before; n != 0 {
			t.Errorf("server received %d messages after the outage, want none", n)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued, want none: the expired one is given up", n)
		}
		evs := e.undeliverable(u.ID)
		if len(evs) != 1 {
			t.Fatalf("%d mail.undeliverable events, want 1", len(evs))
		}
		ev := evs[0]
		if ev.ActorType != auth.ActorSystem || ev.Outcome != auth.OutcomeFailure ||
			ev.Reason != string(auth.MailResetPassword) || !auth.ValidID(ev.Resource) {
			t.Errorf("event %+v", ev)
		}
		reset := func(reason string) float64 {
			return metric(t, o.reg, "authd_mail_failed_total", "kind", "reset_password", "reason", reason)
		}
		if reset("expired") != 1 || reset("gave_up") != 0 || reset("retry") != 1 {
			t.Errorf("failed{reset_password}: expired %v, gave_up %v, retry %v; want 1, 0, 1",
				reset("expired"), reset("gave_up"), reset("retry"))
		}
		recs := e.logRecords("mail not sent: its link expired")
		if len(recs) != 1 {
			t.Fatalf("%d \"mail not sent: its link expired\" log records, want 1:\n%s", len(recs), e.logs.String())
		}
		if rec := recs[0]; rec["level"] != "INFO" || rec["kind"] != string(auth.MailResetPassword) || rec["mail_id"] != ev.Resource {
			t.Errorf("log record %v: want INFO with kind reset_password and mail id %s", rec, ev.Resource)
		}
		if strings.Contains(e.logs.String(), "ada@example.com") {
			t.Errorf("the log names the recipient's address:\n%s", e.logs.String())
		}
		o.deliver(t, 0)
		if n := len(e.smtp.Messages()) - before; n != 0 {
			t.Errorf("server received %d messages on the next pass", n)
		}
	})
}

// TestOutboxSendsAMailWhoseLinkStillWorks: the same outage, over a moment
// before the link expires: the mail goes out, and its link works.
func TestOutboxSendsAMailWhoseLinkStillWorks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.register("ada@example.com")
		o := e.outbox(nil, nil)
		o.deliver(t, 1)
		before := len(e.smtp.Messages())

		e.smtp.Stop()
		asked := e.clock.Now()
		e.forgotPassword("ada@example.com")
		o.deliver(t, 0)
		e.clock.Advance(asked.Add(time.Hour - time.Second).Sub(e.clock.Now()))
		e.smtp.Restart(t)
		o.deliver(t, 1)

		msgs := e.smtp.Messages()[before:]
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages after the outage, want the reset mail", len(msgs))
		}
		prefix := authtest.UIURL + "/" + mail.ResetPasswordPath + "#token="
		link := msgs[0].Link()
		if !strings.HasPrefix(link, prefix) {
			t.Fatalf("link %q, want %s…", link, prefix)
		}
		if err := e.svc.ResetPassword(t.Context(), strings.TrimPrefix(link, prefix), "a brand new passphrase", auth.Origin{}); err != nil {
			t.Errorf("the delivered link does not work: %v", err)
		}
		if evs := e.undeliverable(u.ID); len(evs) != 0 {
			t.Errorf("mail.undeliverable events: %+v", evs[0])
		}
		if v := metric(t, o.reg, "authd_mail_failed_total", "kind", "reset_password", "reason", "expired"); v != 0 {
			t.Errorf("failed{reset_password, expired} = %v, want 0", v)
		}
	})
}

// TestOutboxNeverExpiresAMailWithoutALink: an email change queues a link
// to the new address (24h) and a notice to the old one (no link). An
// outage longer than the link works drops the link's mail; the notice is
// delivered, however late (within GiveUpAfter).
func TestOutboxNeverExpiresAMailWithoutALink(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const password = "correct horse battery"
		u, pair, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "ada@example.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		o := e.outbox(nil, nil)
		o.deliver(t, 1) // the verification mail
		before := len(e.smtp.Messages())

		e.smtp.Stop()
		if mailed, err := e.svc.ChangeEmail(t.Context(), p, "new@example.com", password); err != nil || !mailed {
			t.Fatalf("ChangeEmail: mailed %v, err %v", mailed, err)
		}
		o.deliver(t, 0)
		e.clock.Advance(48 * time.Hour)
		e.smtp.Restart(t)
		o.deliver(t, 1)

		msgs := e.smtp.Messages()[before:]
		if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ada@example.com" {
			t.Fatalf("server received %d messages after the outage, want the notice to the old address only", len(msgs))
		}
		if link := msgs[0].Link(); link != "" {
			t.Errorf("the notice carries a link: %s", link)
		}
		evs := e.undeliverable(u.ID)
		if len(evs) != 1 || evs[0].Reason != string(auth.MailEmailChangeVerify) {
			t.Errorf("mail.undeliverable events %+v, want one for the link to the new address", evs)
		}
		failed := func(kind auth.MailKind, reason string) float64 {
			return metric(t, o.reg, "authd_mail_failed_total", "kind", string(kind), "reason", reason)
		}
		if v := failed(auth.MailEmailChangeVerify, "expired"); v != 1 {
			t.Errorf("failed{email_change_verify, expired} = %v, want 1", v)
		}
		if v := failed(auth.MailEmailChangeNotice, "expired") + failed(auth.MailEmailChangeNotice, "gave_up"); v != 0 {
			t.Errorf("the notice was given up (%v)", v)
		}
		if n := e.queued(); n != 0 {
			t.Errorf("%d mails queued", n)
		}
	})
}
