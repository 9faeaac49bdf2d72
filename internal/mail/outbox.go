package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth"
)

// OutboxStore is what the Outbox needs of the database: the queue, and
// units of work to remove a mail (with its audit event when it is given up).
type OutboxStore interface {
	auth.OutboxStore
	auth.Transactor
}

// OutboxConfig configures NewOutbox. A zero field takes its default.
type OutboxConfig struct {
	// Batch is how many due mails one pass claims (default 10).
	Batch int
	// PollInterval is the wait between passes when the last one found
	// fewer than Batch due mails (default 1s). A pass with nothing due is
	// one indexed query.
	PollInterval time.Duration
	// Lease is how long a claimed mail is this sender's: no other replica
	// claims it meanwhile, and if this one dies it is due again once the
	// lease ends (default 2m). It must be at least twice SendTimeout.
	Lease time.Duration
	// SendTimeout bounds one send (default 30s): the Sender gets a context
	// with this deadline, which SMTP honours whatever step it is at. A
	// send starts only if the lease has at least this long to run, so no
	// send outlives its lease.
	SendTimeout time.Duration
	// MinBackoff is the wait before the first retry (default 30s); it
	// doubles with every attempt up to MaxBackoff (default 1h), with ±20%
	// jitter so that mails that failed together don't retry together.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// GiveUpAfter is the age of a mail (since it was queued) at which a
	// failed attempt gives it up (default 72h). Retries are scheduled no
	// later than that age, so the last one happens then.
	GiveUpAfter time.Duration

	Now        func() time.Time      // default time.Now
	Jitter     func() float64        // uniform in [0, 1); default math/rand/v2
	Logger     *slog.Logger          // default slog.Default()
	Registerer prometheus.Registerer // where the metrics are registered; nil: nowhere
}

// Default outbox settings.
const (
	DefaultOutboxBatch       = 10
	DefaultOutboxPoll        = time.Second
	DefaultOutboxLease       = 2 * time.Minute
	DefaultOutboxSendTimeout = 30 * time.Second
	DefaultMinBackoff        = 30 * time.Second
	DefaultMaxBackoff        = time.Hour
	DefaultGiveUpAfter       = 72 * time.Hour
)

// markTimeout bounds the database writes that follow a send. They don't
// take the caller's cancellation: a mail that was sent must be marked
// even when the process is stopping.
const markTimeout = 10 * time.Second

// statsInterval is how often the queue gauges are refreshed when passes
// find nothing due (a pass that claims something refreshes them).
const statsInterval = 15 * time.Second

// maxErrorLength bounds the error text stored with a mail.
const maxErrorLength = 500

// The reasons of authd_mail_failed_total.
const (
	reasonRetry   = "retry"   // due again after a backoff
	reasonGaveUp  = "gave_up" // dropped: refused for good, too old, or unopenable
	reasonExpired = "expired" // dropped unsent: its link expired
)

// Outbox delivers the mail the domain queues: every replica runs one, and
// they share the queue through the database, each pass claiming due mails
// with a lease (PostgreSQL's FOR UPDATE SKIP LOCKED, SQLite's single
// writer), so that no two replicas send one mail at once.
//
// A claimed mail whose link has expired (auth.OutboxMail.ExpiresAt, set
// and not after now) is not sent: a mail whose link no longer works, and
// whose text says how long it works, is useless and misleading. It is
// given up, deleting it and appending auth.EventMailUndeliverable to its
// user's audit log in one unit of work, and counted as failed with reason
// "expired". That is how a reset mail (its link works 1h by default) held
// up by an SMTP outage ends, long before GiveUpAfter.
//
// For each other claimed mail, it opens the payload (Composer.Open) and
// sends it, then:
//
//   - sent: logs it (kind, mail id, Message-ID, attempts; never the
//     address or the payload) and deletes the mail, in a unit of work of
//     its user;
//   - failed, Transient or Misconfigured (Classify): records the error
//     text (of the server's reply, with the recipient's address taken out;
//     never the payload) and makes the mail due again after a backoff
//     (MinBackoff doubling up to MaxBackoff, ±20% jitter), no later than
//     GiveUpAfter after it was queued; a misconfigured server is logged as
//     an error, since every mail waits until an operator fixes it;
//   - failed, Rejected (a 5xx to RCPT or to the data: a bad address), or
//     failed when older than GiveUpAfter, or a payload that does not open
//     (sealed under another secret): gives it up, deleting it and
//     appending auth.EventMailUndeliverable to its user's audit log in one
//     unit of work.
//
// A failing database call is logged and tried again on the next pass.
//
// Delivery is at least once: no mail is lost, by a restart or otherwise,
// since a mail leaves the queue only once it is sent or given up. It is
// once, but for one case: a mail sent, whose deletion then fails or
// never happens (the process dies in between, or the database is
// unreachable then), is sent again once its lease ends, by any replica.
// (This replica remembers such mails and deletes them instead of sending
// them again, as long as it runs.) The second copy carries the same
// Message-ID, made when the mail was queued, so receivers can drop it.
type Outbox struct {
	store    OutboxStore
	composer *Composer
	sender   Sender
	cfg      OutboxConfig
	log      *slog.Logger

	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec
	queued prometheus.Gauge
	oldest prometheus.Gauge

	mu        sync.Mutex        // one pass at a time
	unmarked  map[string]string // sent but not deleted: mail id → user id
	lastStats time.Time
	failing   bool // the last pass failed on the database
	refused   bool // the last send was refused for authd's configuration
}

// NewOutbox returns an outbox delivering the mail of store, opened by c,
// through s. It panics on an invalid configuration (config validates the
// values it reads) or if the metrics are already registered.
func NewOutbox(store OutboxStore, c *Composer, s Sender, cfg OutboxConfig) *Outbox {
	if store == nil || c == nil || s == nil {
		panic("mail: NewOutbox needs a store, a composer and a sender")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultOutboxBatch
	}
	def(&cfg.PollInterval, DefaultOutboxPoll)
	def(&cfg.Lease, DefaultOutboxLease)
	def(&cfg.SendTimeout, DefaultOutboxSendTimeout)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.GiveUpAfter, DefaultGiveUpAfter)
	switch {
	case cfg.Batch < 0, cfg.PollInterval < 0, cfg.SendTimeout < 0, cfg.MinBackoff < 0, cfg.GiveUpAfter < 0:
		panic("mail: negative outbox setting")
	case cfg.Lease < 2*cfg.SendTimeout:
		panic(fmt.Sprintf("mail: the outbox lease (%s) must be at least twice the send timeout (%s)", cfg.Lease, cfg.SendTimeout))
	case cfg.MaxBackoff < cfg.MinBackoff:
		panic("mail: the outbox's maximum backoff is below its minimum")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	o := &Outbox{
		store: store, composer: c, sender: s, cfg: cfg, log: cfg.Logger,
		unmarked: make(map[string]string),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_mail_sent_total",
			Help: "Mails the outbox handed to the mail server (or the log), by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_mail_failed_total",
			Help: "Failed mail deliveries by kind and outcome: retry (due again after a backoff), gave_up (dropped, audited as mail.undeliverable) " +
				"or expired (dropped unsent because its link had expired, audited as mail.undeliverable).",
		}, []string{"kind", "reason"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authd_outbox_queued",
			Help: "Mails waiting in the outbox (sending or due later), as this replica last counted them.",
		}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authd_outbox_oldest_age_seconds",
			Help: "Age of the oldest mail in the outbox (0 when it is empty), as this replica last saw it.",
		}),
	}
	for _, k := range Kinds() {
		o.sent.WithLabelValues(string(k))
		for _, reason := range []string{reasonRetry, reasonGaveUp, reasonExpired} {
			o.failed.WithLabelValues(string(k), reason)
		}
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(o.sent, o.failed, o.queued, o.oldest)
	}
	return o
}

// Run delivers due mail, one pass every PollInterval (at once again after
// a full batch), until ctx ends. A send under way then is finished (it is
// bounded by SendTimeout) and the mails claimed but not yet sent are
// released for any replica to take; Run returns after that.
func (o *Outbox) Run(ctx context.Context) {
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		claimed, _, err := o.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil && claimed == o.cfg.Batch {
			wait.Reset(0) // more may be due
			continue
		}
		wait.Reset(o.cfg.PollInterval)
	}
}

// DeliverDue runs one pass: it claims up to Batch due mails and delivers
// each as the type's documentation says. It returns how many it sent, and
// an error if the claim failed (the failures of single mails are handled,
// logged and counted, not returned). If ctx ends during the pass, the send
// under way is finished and the rest of the batch is released.
func (o *Outbox) DeliverDue(ctx context.Context) (sent int, err error) {
	_, sent, err = o.pass(ctx)
	return sent, err
}

func (o *Outbox) pass(ctx context.Context) (claimed, sent int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.markUnmarked(ctx)
	now := o.cfg.Now()
	leaseUntil := now.Add(o.cfg.Lease)
	mails, err := o.store.ClaimMail(ctx, now, leaseUntil, o.cfg.Batch)
	if err != nil {
		if ctx.Err() == nil {
			o.storeFailed(ctx, "claim due mail", err)
		}
		return 0, 0, fmt.Errorf("mail: claim due mail: %w", err)
	}
	o.storeRecovered(ctx)
	for i, m := range mails {
		if ctx.Err() != nil || leaseUntil.Sub(o.cfg.Now()) < o.cfg.SendTimeout {
			// Stopping, or too little of the lease left for a send: the
			// others are for the next pass, or another replica, now.
			o.release(ctx, mails[i:])
			break
		}
		if o.deliver(ctx, m) {
			sent++
		}
	}
	o.refreshStats(ctx, len(mails) > 0)
	return len(mails), sent, nil
}

// deliver sends one claimed mail and settles it; it reports whether the
// mail was sent.
func (o *Outbox) deliver(ctx context.Context, m *auth.OutboxMail) bool {
	log := o.log.With("mail_id", m.ID, "user_id", m.UserID, "kind", string(m.Kind), "attempts", m.Attempts)
	if _, ok := o.unmarked[m.ID]; ok {
		// Sent by this replica already; its deletion failed and the lease
		// ran out meanwhile.
		o.markSent(ctx, m, log)
		return false
	}
	if !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(o.cfg.Now()) {
		o.giveUp(ctx, m, log, reasonExpired, "its link expired at "+m.ExpiresAt.UTC().Format(time.RFC3339))
		return false
	}
	msg, err := o.composer.Open(m.Payload)
	if err != nil {
		o.giveUp(ctx, m, log, reasonGaveUp, "the payload does not open: "+err.Error())
		return false
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.SendTimeout)
	err = o.sender.Send(sendCtx, msg)
	cancel()
	if err == nil {
		o.sent.WithLabelValues(string(m.Kind)).Inc()
		log.InfoContext(ctx, "mail sent", "message_id", msg.MessageID)
		if o.refused {
			o.refused = false
			log.InfoContext(ctx, "mail: the mail server accepts mail again")
		}
		o.markSent(ctx, m, log)
		return true
	}

	text := errorText(err, msg.To)
	now := o.cfg.Now()
	age := now.Sub(m.CreatedAt)
	switch class := Classify(err); {
	case class == Rejected:
		o.giveUp(ctx, m, log, reasonGaveUp, "the mail server refused this message: "+text)
	case age >= o.cfg.GiveUpAfter:
		o.giveUp(ctx, m, log, reasonGaveUp, fmt.Sprintf("still undelivered after %s: %s", age.Round(time.Second), text))
	default:
		next := now.Add(Backoff(m.Attempts, o.cfg.MinBackoff, o.cfg.MaxBackoff, o.cfg.Jitter()))
		next = minTime(next, m.CreatedAt.Add(o.cfg.GiveUpAfter))
		o.failed.WithLabelValues(string(m.Kind), reasonRetry).Inc()
		log = log.With("next_attempt_at", next, "err", text)
		if class == Misconfigured {
			o.refused = true
			log.ErrorContext(ctx, "mail: the mail server refuses authd's configuration (AUTH_SMTP_URL credentials or TLS, AUTH_SMTP_FROM); "+
				"every mail waits, and is retried, until it is fixed")
		} else {
			log.WarnContext(ctx, "mail: not delivered; will retry")
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		defer cancel()
		if err := o.store.RetryMail(rctx, m.UserID, m.ID, next, text); err != nil && auth.ErrorCode(err) != auth.ENotFound {
			// The lease ends anyway: the mail is due again then.
			log.WarnContext(ctx, "mail: could not record the failed attempt; the mail is due again when its lease ends", "store_err", err)
		}
	}
	return false
}

// markSent deletes a sent mail. If that fails, the mail is remembered, to
// be deleted on the next pass rather than sent again.
func (o *Outbox) markSent(ctx context.Context, m *auth.OutboxMail, log *slog.Logger) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	err := o.store.InUserTx(mctx, m.UserID, func(tx auth.UserTx) error {
		return tx.DeleteMail(mctx, m.ID)
	})
	if err != nil && auth.ErrorCode(err) != auth.ENotFound {
		o.unmarked[m.ID] = m.UserID
		log.ErrorContext(ctx, "mail: sent, but not removed from the outbox; it will be removed on the next pass, "+
			"or sent again (same Message-ID) once its lease ends if this process stops first", "err", err)
		return
	}
	delete(o.unmarked, m.ID)
}

// markUnmarked retries the deletion of mails sent by this replica whose
// deletion failed.
func (o *Outbox) markUnmarked(ctx context.Context) {
	for id, userID := range o.unmarked {
		if ctx.Err() != nil {
			return
		}
		err := o.store.InUserTx(ctx, userID, func(tx auth.UserTx) error { return tx.DeleteMail(ctx, id) })
		if err == nil || auth.ErrorCode(err) == auth.ENotFound {
			delete(o.unmarked, id)
		}
	}
}

// giveUp deletes the mail and records it in the audit log, in one unit of
// work, and counts it as failed for reason (reasonGaveUp or reasonExpired);
// why is for the log. If that fails, the mail is tried again once its lease
// ends (and an expired one is given up then).
func (o *Outbox) giveUp(ctx context.Context, m *auth.OutboxMail, log *slog.Logger, reason, why string) {
	now := o.cfg.Now()
	ev := &auth.Event{
		ID:        uuid.Must(uuid.NewV7()).String(),
		At:        now,
		Type:      auth.EventMailUndeliverable,
		ActorType: auth.ActorSystem,
		UserID:    m.UserID,
		Resource:  m.ID,
		Outcome:   auth.OutcomeFailure,
		Reason:    string(m.Kind),
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	err := o.store.InUserTx(gctx, m.UserID, func(tx auth.UserTx) error {
		if err := tx.DeleteMail(gctx, m.ID); err != nil {
			return err
		}
		return tx.AppendEvent(gctx, ev)
	})
	switch {
	case auth.ErrorCode(err) == auth.ENotFound:
		return // gone meanwhile, with its user
	case err != nil:
		log.WarnContext(ctx, "mail: could not give up an undeliverable mail; it is tried again when its lease ends", "why", why, "err", err)
		return
	}
	o.failed.WithLabelValues(string(m.Kind), reason).Inc()
	age := now.Sub(m.CreatedAt).Round(time.Second).String()
	if reason == reasonExpired {
		// Not a delivery failure of its own: the mail waited out its link
		// (an outage, already logged as it happened).
		log.InfoContext(ctx, "mail not sent: its link expired", "why", why, "age", age)
		return
	}
	log.WarnContext(ctx, "mail: given up, undeliverable", "why", why, "age", age)
}

// release makes claimed mails due at once, for whoever claims next. If
// that fails, they are due when their lease ends.
func (o *Outbox) release(ctx context.Context, mails []*auth.OutboxMail) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	now := o.cfg.Now()
	for _, m := range mails {
		if err := o.store.RetryMail(rctx, m.UserID, m.ID, now, m.LastError); err != nil && auth.ErrorCode(err) != auth.ENotFound {
			o.log.DebugContext(ctx, "mail: could not release a claimed mail; it is due when its lease ends", "mail_id", m.ID, "err", err)
		}
	}
}

// refreshStats updates the queue gauges, after a pass that claimed
// something or every statsInterval.
func (o *Outbox) refreshStats(ctx context.Context, force bool) {
	now := o.cfg.Now()
	if !force && !o.lastStats.IsZero() && now.Sub(o.lastStats) < statsInterval {
		return
	}
	queued, oldest, err := o.store.OutboxStats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.log.DebugContext(ctx, "mail: could not count the outbox", "err", err)
		}
		return
	}
	o.lastStats = now
	o.queued.Set(float64(queued))
	age := 0.0
	if queued > 0 && !oldest.IsZero() {
		age = max(now.Sub(oldest).Seconds(), 0)
	}
	o.oldest.Set(age)
}

// storeFailed logs a failed database call: once as a warning, then at
// debug level until it recovers (every poll would flood the log).
func (o *Outbox) storeFailed(ctx context.Context, what string, err error) {
	if o.failing {
		o.log.DebugContext(ctx, "mail: outbox pass failed", "step", what, "err", err)
		return
	}
	o.failing = true
	o.log.WarnContext(ctx, "mail: outbox pass failed; retrying every poll", "step", what, "err", err)
}

func (o *Outbox) storeRecovered(ctx context.Context) {
	if o.failing {
		o.failing = false
		o.log.InfoContext(ctx, "mail: outbox reaches the database again")
	}
}

// Backoff returns the wait before retrying a mail after its attempts-th
// failed attempt: minBackoff doubled attempts-1 times, at most maxBackoff,
// times a jitter factor from 0.8 to 1.2 taken from r, uniform in [0, 1).
func Backoff(attempts int, minBackoff, maxBackoff time.Duration, r float64) time.Duration {
	d := minBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}

// errorText is err's text for the log and the database: the recipient's
// address taken out (the payload is sealed; an email change's new address
// is not stored elsewhere yet), and bounded.
func errorText(err error, to string) string {
	s := err.Error()
	if to != "" {
		s = strings.ReplaceAll(s, to, "<recipient>")
	}
	if len(s) > maxErrorLength {
		s = strings.ToValidUTF8(s[:maxErrorLength], "") + "…"
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
