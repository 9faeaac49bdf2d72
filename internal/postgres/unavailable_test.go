package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// TestDatabaseDown stops a private server under an open DB: every store
// method answers EUnavailable, the pool lets go of its connections to the
// dead server at the first sign of it, and once the server is back the next
// call succeeds without anyone reopening anything.
func TestDatabaseDown(t *testing.T) {
	srv := pgtest.StartServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	db, err := Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	u := &auth.User{ID: uuid.NewString(), Email: "down@example.com", PasswordHash: "x",
		Status: auth.StatusActive, CreatedAt: now, UpdatedAt: now}
	err = db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) })
	if err != nil {
		t.Fatal(err)
	}

	// Three connections are in the pool, idle for no time (so the pool
	// would not ping them before use), when the server dies.
	var held []*pgxpool.Conn
	for range 3 {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	srv.Stop()
	for _, c := range held {
		c.Release()
	}

	_, err = db.User(ctx, u.ID)
	authtest.WantUnavailable(t, "User on a connection cut by the server", err)
	if n := db.pool.Stat().IdleConns(); n != 0 {
		t.Errorf("the pool keeps %d idle connections to the dead server", n)
	}

	sid, other := uuid.NewString(), uuid.NewString()
	sess := &auth.Session{ID: sid, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	rt := &auth.RefreshToken{Hash: make([]byte, 32), UserID: u.ID, SessionID: sid, Generation: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	next := *rt
	next.Generation, next.Hash = 2, append(make([]byte, 31), 1)
	// The writes run in units of work, as the domain runs them.
	inUser := func(userID string, fn func(tx auth.UserTx) error) error { return db.InUserTx(ctx, userID, fn) }
	inGlobal := func(fn func(tx auth.GlobalTx) error) error { return db.InGlobalTx(ctx, fn) }
	ev := &auth.Event{ID: uuid.NewString(), At: now, Type: auth.EventLoginFailed, ActorType: auth.ActorSystem, Outcome: auth.OutcomeFailure}
	calls := map[string]func() error{
		"CreateUser": func() error {
			v := *u
			v.ID, v.Email = other, "other@example.com"
			return inUser(v.ID, func(tx auth.UserTx) error { return tx.CreateUser(ctx, &v) })
		},
		"UserByEmail": func() error { _, err := db.UserByEmail(ctx, u.Email); return err },
		"UpdateUser": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error {
				return tx.UpdateUser(ctx, &auth.UserUpdate{Name: &u.Name, Version: 1, At: now, EndSessions: true})
			})
		},
		"UpgradePasswordHash": func() error { return db.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, "y") },
		"ChangePassword": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.ChangePassword(ctx, "y", "", 1, now) })
		},
		"DeleteUser": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.DeleteUser(ctx, 0) })
		},
		"ListUsers": func() error { _, err := db.ListUsers(ctx, auth.UserFilter{Limit: 10}); return err },
		"ImportUsers": func() error {
			v := *u
			v.ID, v.Email = other, "other@example.com"
			_, err := db.ImportUsers(ctx, []*auth.User{&v})
			return err
		},
		"CreateSession": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.CreateSession(ctx, sess, rt, 1) })
		},
		"Session": func() error { _, err := db.Session(ctx, u.ID, sid); return err },
		"ListSessions": func() error {
			_, err := db.ListSessions(ctx, auth.SessionFilter{UserID: u.ID, ActiveAt: now, Limit: 10})
			return err
		},
		"RevokeSession": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.RevokeSession(ctx, sid, now) })
		},
		"RevokeSessions": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.RevokeSessions(ctx, "", now) })
		},
		"RefreshToken":       func() error { _, err := db.RefreshToken(ctx, u.ID, rt.Hash); return err },
		"RefreshState":       func() error { _, _, _, err := db.RefreshState(ctx, u.ID, rt.Hash); return err },
		"RotateRefreshToken": func() error { return db.RotateRefreshToken(ctx, rt, []byte("sealed"), time.Minute, &next, now) },
		"GrantRole": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { _, err := tx.GrantRole(ctx, auth.RoleAdmin, now); return err })
		},
		"RevokeRole": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { _, err := tx.RevokeRole(ctx, auth.RoleUser, now); return err })
		},
		"Roles": func() error { _, err := db.Roles(ctx); return err },
		"Role":  func() error { _, err := db.Role(ctx, auth.RoleUser); return err },
		"CreateRole": func() error {
			return inGlobal(func(tx auth.GlobalTx) error {
				return tx.CreateRole(ctx, &auth.Role{Name: "support", CreatedAt: now, UpdatedAt: now})
			})
		},
		"UpdateRole": func() error {
			desc := "Support."
			return inGlobal(func(tx auth.GlobalTx) error {
				return tx.UpdateRole(ctx, &auth.RoleUpdate{Name: "support", Description: &desc, Version: 1, At: now})
			})
		},
		"DeleteRole": func() error {
			return inGlobal(func(tx auth.GlobalTx) error { _, err := tx.DeleteRole(ctx, "support"); return err })
		},
		"CreateClient": func() error {
			return inGlobal(func(tx auth.GlobalTx) error {
				return tx.CreateClient(ctx, &auth.ServiceClient{ID: other, Name: "c", CreatedAt: now})
			})
		},
		"Client":      func() error { _, err := db.Client(ctx, other); return err },
		"ListClients": func() error { _, err := db.ListClients(ctx); return err },
		"DeleteClient": func() error {
			return inGlobal(func(tx auth.GlobalTx) error { return tx.DeleteClient(ctx, other) })
		},
		"RevokeToken": func() error {
			return inGlobal(func(tx auth.GlobalTx) error { _, err := tx.RevokeToken(ctx, "jti", now.Add(time.Hour)); return err })
		},
		"TokenRevoked": func() error { _, err := db.TokenRevoked(ctx, "jti"); return err },
		"AppendEvent":  func() error { return db.AppendEvent(ctx, ev) },
		"UserTx.AppendEvent": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.AppendEvent(ctx, ev) })
		},
		"GlobalTx.AppendEvent": func() error {
			return inGlobal(func(tx auth.GlobalTx) error { return tx.AppendEvent(ctx, ev) })
		},
		"ListEvents":         func() error { _, err := db.ListEvents(ctx, auth.EventFilter{Limit: 10}); return err },
		"DeleteEventsBefore": func() error { _, err := db.DeleteEventsBefore(ctx, now); return err },
		"CreateSigningKey": func() error {
			k := &auth.SigningKey{ID: "k", Algorithm: "ES256", PublicKey: []byte{1}, PrivateKey: []byte{1}, CreatedAt: now, ActivatesAt: now}
			return inGlobal(func(tx auth.GlobalTx) error { return tx.CreateSigningKey(ctx, k) })
		},
		"SigningKeys": func() error { _, err := db.SigningKeys(ctx); return err },
		"VerifyEmail": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { _, err := tx.VerifyEmail(ctx, u.Email, now); return err })
		},
		"ChangeEmail": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.ChangeEmail(ctx, "new@example.com", now) })
		},
		"CreateOneTimeToken": func() error {
			tok := &auth.OneTimeToken{Hash: rt.Hash, UserID: u.ID, Purpose: auth.PurposeResetPassword,
				Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.CreateOneTimeToken(ctx, tok) })
		},
		"ConsumeOneTimeToken": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error {
				_, err := tx.ConsumeOneTimeToken(ctx, rt.Hash, auth.PurposeResetPassword)
				return err
			})
		},
		"DeleteOneTimeTokens": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.DeleteOneTimeTokens(ctx) })
		},
		"EnqueueMail": func() error {
			m := &auth.OutboxMail{ID: other, UserID: u.ID, Kind: auth.MailVerifyEmail, Payload: []byte{1},
				CreatedAt: now, NextAttemptAt: now}
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.EnqueueMail(ctx, m) })
		},
		"DeleteMail": func() error {
			return inUser(u.ID, func(tx auth.UserTx) error { return tx.DeleteMail(ctx, other) })
		},
		"ClaimMail":   func() error { _, err := db.ClaimMail(ctx, now, now.Add(time.Minute), 10); return err },
		"RetryMail":   func() error { return db.RetryMail(ctx, u.ID, other, now, "x") },
		"OutboxStats": func() error { _, _, err := db.OutboxStats(ctx); return err },
		"DeleteExpiredOneTimeTokens": func() error {
			_, err := db.DeleteExpiredOneTimeTokens(ctx, now, 10)
			return err
		},
	}
	for name, call := range calls {
		authtest.WantUnavailable(t, name+" with the server down", call())
	}
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping succeeds with the server down")
	}

	srv.Start()
	got, err := db.User(ctx, u.ID)
	if err != nil || got.Email != u.Email {
		t.Fatalf("User after the server is back: %v, %v", got, err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after the server is back: %v", err)
	}

	// The server dies inside a unit of work: the write that finds its
	// connection cut is EUnavailable, and InUserTx returns that error as it
	// is.
	var inside error
	err = db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
		srv.Stop()
		inside = tx.UpdateUser(ctx, &auth.UserUpdate{Name: &u.Name, Version: 1, At: now})
		return inside
	})
	authtest.WantUnavailable(t, "UpdateUser in a unit of work cut by the server", inside)
	if err != inside {
		t.Errorf("InUserTx = %v, want fn's error as it is: %v", err, inside)
	}
}

// TestUnavailableErrors: the driver errors that mean the database can't be
// reached now, and only those, become EUnavailable.
func TestUnavailableErrors(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "driver text"} }
	netErr := &net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")}
	tests := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"admin shutdown (57P01)", pg("57P01"), true},
		{"crash shutdown (57P02)", pg("57P02"), true},
		{"cannot connect now (57P03)", pg("57P03"), true},
		{"connection failure (08006)", pg("08006"), true},
		{"connection does not exist (08003)", pg("08003"), true},
		{"too many connections (53300)", pg("53300"), true},
		{"connection cut", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"unexpected EOF", fmt.Errorf("receive message failed: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"network error", netErr, true},
		{"pool acquire timeout", fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{"caller gone", context.Canceled, false},
		{"unique violation (23505)", pg("23505"), false},
		{"serialization failure (40001)", pg("40001"), false},
		{"undefined table (42P01)", pg("42P01"), false},
		{"wrong password (28P01)", pg("28P01"), false},
		{"no such database (3D000)", pg("3D000"), false},
		{"a bug", errors.New("no rows in result set"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dbError("test op", tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("the driver's error is not kept: %v", got)
			}
			if tt.unavailable {
				authtest.WantUnavailable(t, tt.name, got)
				return
			}
			if code := auth.ErrorCode(got); code != auth.EInternal {
				t.Errorf("code = %s, want internal", code)
			}
			if !strings.HasPrefix(got.Error(), "postgres: test op: ") {
				t.Errorf("err = %q, want it to name the operation", got)
			}
		})
	}
}
