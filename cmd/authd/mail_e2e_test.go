package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/mail/mailtest"
)

// mailUI is AUTH_UI_URL of the mail tests: the links they follow must be
// under it.
const mailUI = "https://app.mail.test/account"

// mailVars returns the AUTH_* variables of an authd that mails through
// smtp over a fresh database of backend (backendVars).
func mailVars(t *testing.T, backend string, smtp *mailtest.Server) map[string]string {
	t.Helper()
	return backendVars(t, backend, map[string]string{
		"AUTH_ADDR":     "127.0.0.1:0",
		"AUTH_SMTP_URL": smtp.URL(),
		"AUTH_UI_URL":   mailUI,
	})
}

// envList turns vars into the environment entries of a child process.
func envList(vars map[string]string) []string {
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// serveMail runs `authd serve` in process with vars and, if the test
// fails, logs the tail of its log.
func serveMail(t *testing.T, vars map[string]string) (*inProcess, string) {
	t.Helper()
	s := serveInProcess(t, vars)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("authd log (last 60 lines):\n%s", logTail(s.logs, 60))
		}
	})
	return s, "http://" + s.addr(t)
}

// buildAuthd builds the binary into a directory of t's: the subtests of t
// share it, and it is removed once they have all finished.
func buildAuthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "authd")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// logTail returns the last n lines written to l.
func logTail(l *logRecords, n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[… %d earlier lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// metric returns the value of one series of base's /metrics (the name with
// its labels, as exposed, e.g. authd_mail_sent_total{kind="verify_email"}),
// and whether it is there.
func metric(t *testing.T, base, series string) (float64, bool) {
	t.Helper()
	res := call(t, "GET", base+"/metrics", "", "")
	res.want(t, 200)
	for _, line := range strings.Split(string(res.body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics: %q: %v", line, err)
			}
			return f, true
		}
	}
	return 0, false
}

// outboxGauges is what /metrics says of base's outbox.
type outboxGauges struct {
	queued, sentVerify, sentReset, retries float64
}

func (g outboxGauges) String() string {
	return fmt.Sprintf("authd_outbox_queued %v, sent verify_email %v, sent reset_password %v, failed verify_email retry %v",
		g.queued, g.sentVerify, g.sentReset, g.retries)
}

func outboxMetrics(t *testing.T, base string) outboxGauges {
	t.Helper()
	get := func(series string) float64 {
		t.Helper()
		v, ok := metric(t, base, series)
		if !ok {
			t.Fatalf("/metrics of %s lacks %s", base, series)
		}
		return v
	}
	return outboxGauges{
		queued:     get("authd_outbox_queued"),
		sentVerify: get(`authd_mail_sent_total{kind="verify_email"}`),
		sentReset:  get(`authd_mail_sent_total{kind="reset_password"}`),
		retries:    get(`authd_mail_failed_total{kind="verify_email",reason="retry"}`),
	}
}

// waitUntil polls cond every 50ms until it holds, failing the test with
// what, cond's last description of the state and the tail of logs if that
// takes longer than timeout. It is for conditions of another process or
// goroutine that nothing announces (a gauge, a row count).
func waitUntil(t *testing.T, timeout time.Duration, what string, logs *logRecords, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last state: %s\nauthd log (last 40 lines):\n%s", what, timeout, state, logTail(logs, 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailToken checks that m is a mail to to whose first link is under
// mailUI+path ("/verify-email" or "/reset-password") with a token in its
// fragment, and returns the token.
func mailToken(t *testing.T, m *mailtest.Message, to, path string) string {
	t.Helper()
	if m.ParseErr != nil {
		t.Fatalf("mail %q does not parse: %v\n%s", m.Subject, m.ParseErr, m.Raw)
	}
	prefix := mailUI + path + "#token="
	link := m.Link()
	token, ok := strings.CutPrefix(link, prefix)
	if len(m.To) != 1 || m.To[0] != to || !ok || token == "" || m.MessageID == "" {
		t.Fatalf("mail %q to %v, Message-ID %q, link %q; want one to %s with a Message-ID and a link %s…",
			m.Subject, m.To, m.MessageID, link, to, prefix)
	}
	return token
}

// errorCode returns the code of an error body of API v1 ({"error":{"code":…}}).
func errorCode(r result) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error.Code
}

func registerJSON(email, password string) string {
	return `{"email":"` + email + `","password":"` + password + `"}`
}

// TestMailFlowsEndToEnd: on each backend, against a real SMTP server, a
// user verifies the address they signed up with through the link mailed
// to it, and resets a forgotten password through the link mailed to it;
// each link works once, an unknown address gets the same answer and no
// mail, and the reset ends the sessions and the old password.
func TestMailFlowsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			smtp := mailtest.Start(t)
			s, base := serveMail(t, mailVars(t, backend, smtp))
			const (
				email   = "flow@example.com"
				oldPW   = "the first mail passphrase"
				newPW   = "the second mail passphrase"
				unknown = "nobody@example.com"
			)
			emailVerified := func(access string) any {
				t.Helper()
				res := call(t, "GET", base+"/api/v1/users/me", access, "")
				res.want(t, 200)
				var me map[string]any
				if err := json.Unmarshal(res.body, &me); err != nil {
					t.Fatalf("GET /users/me: %v: %s", err, res.body)
				}
				return me["email_verified"]
			}

			res := call(t, "POST", base+"/api/v1/auth/register", "", registerJSON(email, oldPW))
			res.want(t, 201)
			session := res.tokens(t)
			if v := emailVerified(session.Access); v != false {
				t.Fatalf("email_verified %v after sign-up, want false", v)
			}

			// Verification.
			verifyToken := mailToken(t, smtp.WaitFor(t, 1, 30*time.Second)[0], email, "/verify-email")
			call(t, "POST", base+"/api/v1/auth/email/verify", "", `{"token":"`+verifyToken+`"}`).want(t, 204)
			if v := emailVerified(session.Access); v != true {
				t.Fatalf("email_verified %v after the link was followed, want true", v)
			}
			res = call(t, "POST", base+"/api/v1/auth/email/verify", "", `{"token":"`+verifyToken+`"}`)
			res.want(t, 400)
			if code := errorCode(res); code != "invalid_token" {
				t.Fatalf("the verification link a second time: code %q, want invalid_token: %s", code, res.body)
			}

			// Forgotten password: the unknown address first, so that a
			// mail to it would be queued, and sent (the earliest due
			// first), before the known address's.
			forgotUnknown := call(t, "POST", base+"/api/v1/auth/password/forgot", "", `{"email":"`+unknown+`"}`)
			forgotUnknown.want(t, 202)
			forgotKnown := call(t, "POST", base+"/api/v1/auth/password/forgot", "", `{"email":"`+email+`"}`)
			forgotKnown.want(t, 202)
			if !bytes.Equal(forgotUnknown.body, forgotKnown.body) {
				t.Errorf("forgot password answers differ: unknown address %s, known %s", forgotUnknown.body, forgotKnown.body)
			}
			msgs := smtp.WaitFor(t, 2, 30*time.Second)
			for _, m := range msgs {
				if len(m.To) != 1 || m.To[0] != email {
					t.Fatalf("a mail to %v (%q); every mail must go to %s, none to %s", m.To, m.Subject, email, unknown)
				}
			}
			if len(msgs) != 2 {
				t.Fatalf("%d mails after the verification and one forgotten password, want 2", len(msgs))
			}
			resetToken := mailToken(t, msgs[1], email, "/reset-password")

			call(t, "POST", base+"/api/v1/auth/password/reset", "", `{"token":"`+resetToken+`","new_password":"`+newPW+`"}`).want(t, 204)
			res = call(t, "POST", base+"/api/v1/auth/password/reset", "", `{"token":"`+resetToken+`","new_password":"a third mail passphrase"}`)
			res.want(t, 400)
			if code := errorCode(res); code != "invalid_token" {
				t.Fatalf("the reset link a second time: code %q, want invalid_token: %s", code, res.body)
			}
			call(t, "GET", base+"/api/v1/users/me", session.Access, "").want(t, 401)
			call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+session.Refresh+`"}`).want(t, 401)
			call(t, "POST", base+"/api/v1/auth/login", "", registerJSON(email, oldPW)).want(t, 401)
			res = call(t, "POST", base+"/api/v1/auth/login", "", registerJSON(email, newPW))
			res.want(t, 200)
			if v := emailVerified(res.tokens(t).Access); v != true {
				t.Errorf("email_verified %v after the reset, want true", v)
			}

			// A graceful stop finishes any send under way: what the SMTP
			// server has then is all that was sent.
			if err := s.stop(); err != nil {
				t.Fatalf("serve: %v", err)
			}
			if msgs := smtp.Messages(); len(msgs) != 2 || msgs[0].MessageID == msgs[1].MessageID {
				for _, m := range msgs {
					t.Logf("mail to %v, %q, Message-ID %s", m.To, m.Subject, m.MessageID)
				}
				t.Fatalf("%d mails sent, want the verification and the reset, with distinct Message-IDs", len(msgs))
			}
			for _, token := range []string{verifyToken, resetToken} {
				if strings.Contains(s.logs.String(), token) {
					t.Error("the log holds a mailed token")
				}
			}
		})
	}
}

// TestMailSurvivesOutages: no mail is lost, or sent twice, when the SMTP
// server or authd goes down, and two replicas on one PostgreSQL send each
// mail once.
//
// On each backend, one timeline covers both outages, so that the test waits
// for the outbox's first retry (30s ±20% after a failed attempt) once:
//
//  1. The SMTP server is down. authd A takes a sign-up (mail 1): its
//     attempt fails, the mail waits in the outbox.
//  2. A is killed with SIGKILL (no graceful stop): mail 1 is committed and
//     unsent. authd B starts on the same database.
//  3. B takes a sign-up (mail 2): its attempt fails too; both mails wait.
//  4. The SMTP server comes back: B delivers mail 1 (authd killed between
//     commit and send → delivered after the restart) and mail 2 (SMTP
//     down → waits; SMTP back → delivered by the same process), each once,
//     when its retry is due.
func TestMailSurvivesOutages(t *testing.T) {
	t.Parallel()
	bin := buildAuthd(t)

	for _, backend := range backends {
		t.Run("smtp_down_and_authd_killed/"+backend, func(t *testing.T) {
			t.Parallel()
			smtp := mailtest.Start(t)
			smtp.Stop()
			vars := mailVars(t, backend, smtp)
			dataDir := vars["AUTH_DATA_DIR"]
			if dataDir == "" {
				dataDir = t.TempDir()
			}
			env := envList(vars)
			const early, late = "early@example.com", "late@example.com"
			due := make(map[string]time.Time) // recipient → when its retry is due

			a := start(t, bin, dataDir, env...)
			call(t, "POST", a.base+"/api/v1/auth/register", "", registerJSON(early, "outage passphrase one")).want(t, 201)
			// Killed after the failed attempt is recorded: killed during
			// one, the mail would stay leased for 2m.
			due[early] = failedAttempt(t, a.base, a.logs, 1)
			kill(t, a)
			if rows, attempts := outboxRows(t, vars); rows != 1 || attempts != 1 {
				t.Fatalf("after the kill the outbox holds %d mails, %d attempts; want the one mail, after one attempt", rows, attempts)
			}

			b := start(t, bin, dataDir, env...)
			call(t, "POST", b.base+"/api/v1/auth/register", "", registerJSON(late, "outage passphrase two")).want(t, 201)
			due[late] = failedAttempt(t, b.base, b.logs, 2)
			if n := len(smtp.Messages()); n != 0 {
				t.Fatalf("%d mails with the SMTP server down", n)
			}

			smtp.Restart(t)
			arrived := make(map[string]time.Time)
			for n := 1; n <= 2; n++ {
				msgs := smtp.WaitFor(t, n, 60*time.Second)
				for _, m := range msgs {
					for _, to := range m.To {
						if _, ok := arrived[to]; !ok {
							arrived[to] = time.Now()
						}
					}
				}
			}
			for _, to := range []string{early, late} {
				at, ok := arrived[to]
				switch {
				case !ok:
					t.Errorf("no mail to %s", to)
				case at.Before(due[to].Add(-500 * time.Millisecond)):
					t.Errorf("the mail to %s arrived %v before its retry was due", to, due[to].Sub(at))
				default:
					t.Logf("the mail to %s arrived %v after its retry was due", to, at.Sub(due[to]).Round(time.Millisecond))
				}
			}
			// The links work: the mail A queued and B sent opens after the
			// kill and the restart.
			for _, m := range smtp.Messages() {
				token := mailToken(t, m, m.To[0], "/verify-email")
				call(t, "POST", b.base+"/api/v1/auth/email/verify", "", `{"token":"`+token+`"}`).want(t, 204)
			}

			waitUntil(t, 10*time.Second, "the outbox empty after the deliveries", b.logs, func() (bool, string) {
				g := outboxMetrics(t, b.base)
				return g.queued == 0 && g.sentVerify == 2, g.String()
			})
			stop(t, b)
			if rows, _ := outboxRows(t, vars); rows != 0 {
				t.Errorf("%d mails left in the outbox", rows)
			}
			checkOnce(t, smtp.Messages(), []string{early, late})
		})
	}

	// Two replicas (two processes) on one PostgreSQL, both sending at
	// once: each mail is delivered once. The SMTP server holds every mail
	// at the end of its data until two are in flight together (or 10s have
	// passed): since a replica sends one mail at a time, that happens only
	// once both replicas are sending.
	t.Run("two_replicas/postgres", func(t *testing.T) {
		t.Parallel()
		smtp := mailtest.Start(t)
		var (
			mu       sync.Mutex
			inFlight int
			both     = make(chan struct{})
		)
		smtp.OnData(func(*mailtest.Message) error {
			mu.Lock()
			if inFlight++; inFlight == 2 {
				select {
				case <-both:
				default:
					close(both)
				}
			}
			mu.Unlock()
			defer func() {
				mu.Lock()
				inFlight--
				mu.Unlock()
			}()
			select {
			case <-both:
			case <-time.After(10 * time.Second):
			}
			return nil
		})
		vars := mailVars(t, "postgres", smtp)
		vars["AUTH_RATE_REGISTER_IP"] = "off" // every sign-up comes from 127.0.0.1
		env := envList(vars)
		replicas := []*server{start(t, bin, t.TempDir(), env...), start(t, bin, t.TempDir(), env...)}

		// More than one claim's batch (10): a replica held on its first
		// mail leaves the rest for the other.
		const n = 20
		var want []string
		for i := range n {
			email := fmt.Sprintf("user%02d@example.com", i)
			want = append(want, email)
			call(t, "POST", replicas[i%2].base+"/api/v1/auth/register", "", registerJSON(email, "replicated passphrase")).want(t, 201)
		}
		smtp.WaitFor(t, n, 30*time.Second)
		waitUntil(t, 10*time.Second, "the outbox empty", replicas[0].logs, func() (bool, string) {
			rows, _ := outboxRows(t, vars)
			return rows == 0, fmt.Sprintf("%d mails in the outbox", rows)
		})
		var sent []float64
		for _, r := range replicas {
			sent = append(sent, outboxMetrics(t, r.base).sentVerify)
		}
		t.Logf("mails sent by each replica: %v", sent)
		select {
		case <-both:
		default:
			t.Errorf("the replicas never sent at the same time (sent %v)", sent)
		}
		if sent[0]+sent[1] != n || sent[0] == 0 || sent[1] == 0 {
			t.Errorf("the replicas counted %v mails sent, want %d in all, some by each", sent, n)
		}
		for _, r := range replicas {
			stop(t, r)
		}
		checkOnce(t, smtp.Messages(), want)
	})
}

// checkOnce checks that msgs are one mail to each of to, with distinct
// Message-IDs (a mail sent again carries its Message-ID again).
func checkOnce(t *testing.T, msgs []*mailtest.Message, to []string) {
	t.Helper()
	byID, byTo := make(map[string]int), make(map[string]int)
	for _, m := range msgs {
		byID[m.MessageID]++
		for _, rcpt := range m.To {
			byTo[rcpt]++
		}
	}
	for id, c := range byID {
		if c != 1 || id == "" {
			t.Errorf("Message-ID %q delivered %d times", id, c)
		}
	}
	for _, rcpt := range to {
		if byTo[rcpt] != 1 {
			t.Errorf("%s got %d mails, want 1", rcpt, byTo[rcpt])
		}
	}
	if len(msgs) != len(to) || len(byTo) != len(to) {
		t.Errorf("%d mails delivered to %d addresses, want %d to as many", len(msgs), len(byTo), len(to))
	}
}

// failedAttempt waits for the outbox of the authd at base to fail its
// first attempt at a mail (the SMTP server being down) and to record the
// failure, queued mails then waiting in the outbox, and returns when the
// retry is due. It checks that the retry is due after the first backoff:
// 30s ±20%.
func failedAttempt(t *testing.T, base string, logs *logRecords, queued float64) time.Time {
	t.Helper()
	rec := logs.waitFor(t, "mail: not delivered; will retry", 30*time.Second)
	at, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"]))
	next, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["next_attempt_at"]))
	if err1 != nil || err2 != nil {
		t.Fatalf("retry record %v: %v %v", rec, err1, err2)
	}
	// The record is written just after the retry is scheduled (now +
	// backoff): it may show a little less than the backoff.
	if wait := next.Sub(at); wait < 23*time.Second || wait > 36*time.Second {
		t.Errorf("first retry due %v after the failure, want 30s ±20%%", wait)
	}
	// The gauge is refreshed at the end of the outbox's pass, once the
	// failure is recorded in the database.
	waitUntil(t, 10*time.Second, "the failed mail waiting in the outbox", logs, func() (bool, string) {
		g := outboxMetrics(t, base)
		return g.queued == queued && g.retries == 1 && g.sentVerify == 0, g.String()
	})
	return next
}

// kill ends s with SIGKILL: no graceful stop, nothing of the outbox's
// shutdown runs.
func kill(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("authd ended with %v, not by SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("authd still runs 10s after SIGKILL")
	}
}

// outboxRows returns how many mails the outbox of vars' database holds,
// and their attempts in all. It opens the database itself: for SQLite, the
// file in AUTH_DATA_DIR, which no authd must have open then.
func outboxRows(t *testing.T, vars map[string]string) (rows, attempts int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const q = `SELECT count(*), coalesce(sum(attempts), 0) FROM outbox`
	if url := vars["AUTH_DATABASE_URL"]; url != "" {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(ctx, q).Scan(&rows, &attempts); err != nil {
			t.Fatal(err)
		}
		return rows, attempts
	}
	db, err := sql.Open("sqlite", filepath.Join(vars["AUTH_DATA_DIR"], "authd.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, q).Scan(&rows, &attempts); err != nil {
		t.Fatal(err)
	}
	return rows, attempts
}
