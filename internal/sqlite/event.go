package sqlite

import (
	"context"
	"slices"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// insertEvent appends ev to the audit log through tx as it is: its callers
// check ev first (CheckNew, or CheckFor in a user's unit of work), or built
// it from rows that were checked (migration 00004). Returns EConflict if an
// event with ev.ID exists.
func insertEvent(ctx context.Context, tx execer, ev *auth.Event) error {
	var userID any // NULL when the event concerns no user
	if ev.UserID != "" {
		userID = ev.UserID
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO audit_events (id, at, type, actor_type, actor_id, user_id, resource,
		                          ip, user_agent, outcome, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, formatTime(ev.At), string(ev.Type), string(ev.ActorType), ev.ActorID, userID,
		ev.Resource, ev.IP, ev.UserAgent, string(ev.Outcome), ev.Reason)
	switch {
	case isUnique(err):
		return auth.ErrExists
	case err != nil:
		return dbError("insert audit event", err)
	}
	return nil
}

// AppendEvent appends ev to the audit log on its own, for events that change
// nothing else (a failed login). Returns EInvalid if ev.ID or a non-empty
// ev.UserID is not a canonical UUID, and EConflict if an event with ev.ID
// exists.
func (db *DB) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	// One statement is atomic on its own: no transaction needed.
	return insertEvent(ctx, db.db, ev)
}

// AppendEvent appends ev, the event of the changes made through t, so that
// it commits with them. Returns EInvalid if ev.ID or a non-empty ev.UserID
// is not a canonical UUID or ev concerns another user, and EConflict if an
// event with ev.ID exists.
func (t *userTx) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckFor(t.userID); err != nil {
		return err
	}
	return insertEvent(ctx, t.tx, ev)
}

// AppendEvent appends ev, the event of the changes made through t, so that
// it commits with them. Returns EInvalid if ev.ID or a non-empty ev.UserID
// is not a canonical UUID, and EConflict if an event with ev.ID exists.
func (t *globalTx) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	return insertEvent(ctx, t.tx, ev)
}

// eventColumns is the select list of audit_events e.
const eventColumns = `e.id, e.at, e.type, e.actor_type, e.actor_id, coalesce(e.user_id, ''),
	e.resource, e.ip, e.user_agent, e.outcome, e.reason`

func scanEvent(row scanner) (*auth.Event, error) {
	var (
		ev                          auth.Event
		at, typ, actorType, outcome string
	)
	err := row.Scan(&ev.ID, &at, &typ, &actorType, &ev.ActorID, &ev.UserID,
		&ev.Resource, &ev.IP, &ev.UserAgent, &outcome, &ev.Reason)
	if err != nil {
		return nil, err
	}
	if ev.At, err = parseTime(at); err != nil {
		return nil, err
	}
	ev.Type, ev.ActorType, ev.Outcome = auth.EventType(typ), auth.ActorType(actorType), auth.Outcome(outcome)
	return &ev, nil
}

// ListEvents returns at most f.Limit audit events, newest (greatest id)
// first: those that f.UserID caused or that concern f.UserID, of type f.Type,
// with f.Since <= At < f.Until, and with ids less than f.Before, each filter
// applying only when set. Returns EInvalid if f.Limit is not positive or
// f.Before is not a canonical UUID.
func (db *DB) ListEvents(ctx context.Context, f auth.EventFilter) ([]*auth.Event, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	var w where
	if f.Type != "" {
		w.add("e.type = ?", string(f.Type))
	}
	if !f.Since.IsZero() {
		w.add("e.at >= ?", formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("e.at < ?", formatTime(f.Until))
	}
	if f.Before != "" {
		// Canonical UUID text orders like the UUID: see migration 00002.
		w.add("e.id < ?", f.Before)
	}
	query := `SELECT ` + eventColumns + ` FROM audit_events e WHERE ` + w.String() + `
		ORDER BY e.id DESC LIMIT ?`
	args := slices.Concat(w.args, []any{f.Limit})
	if f.UserID != "" {
		// "actor_id = ? OR user_id = ?" would read every event of the user
		// to sort them. Each half instead reads its own index newest first
		// and stops after a page; UNION drops the events that are in both
		// (a user acting on themselves) and the outer ORDER BY keeps the
		// newest page.
		half := func(column string) string {
			return `SELECT * FROM (SELECT ` + eventColumns + ` FROM audit_events e
				WHERE ` + column + ` = ? AND ` + w.String() + ` ORDER BY e.id DESC LIMIT ?)`
		}
		query = half("e.actor_id") + ` UNION ` + half("e.user_id") + ` ORDER BY 1 DESC LIMIT ?`
		halfArgs := slices.Concat([]any{f.UserID}, w.args, []any{f.Limit})
		args = slices.Concat(halfArgs, halfArgs, []any{f.Limit})
	}
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError("list events", err)
	}
	return collect(rows, "list events", scanEvent)
}

// DeleteEventsBefore removes the audit events with At before before and
// returns how many it removed.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.db.ExecContext(ctx, `DELETE FROM audit_events WHERE at < ?`, formatTime(before))
	if err != nil {
		return 0, dbError("delete events", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete events", err)
	}
	return n, nil
}
