package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// insertEvent appends ev, checked by the caller, to the audit log through q.
// Returns EConflict if an event with ev.ID exists.
func insertEvent(ctx context.Context, q querier, ev *auth.Event) error {
	var userID *string // NULL when the event concerns no user
	if ev.UserID != "" {
		userID = &ev.UserID
	}
	_, err := q.Exec(ctx, `
		INSERT INTO audit_events (id, at, type, actor_type, actor_id, user_id, resource,
		                          ip, user_agent, outcome, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ev.ID, ev.At, string(ev.Type), string(ev.ActorType), ev.ActorID, userID, ev.Resource,
		ev.IP, ev.UserAgent, string(ev.Outcome), ev.Reason)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case err != nil:
		return dbError("insert audit event", err)
	}
	return nil
}

// AppendEvent appends ev to the audit log on its own, one statement outside
// any transaction, for events that change nothing else (a failed login).
// Returns EInvalid if ev.ID or a non-empty ev.UserID is not a canonical
// UUID, and EConflict if an event with ev.ID exists.
func (db *DB) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	return insertEvent(ctx, db.pool, ev)
}

// eventColumns is the select list of audit_events e.
const eventColumns = `e.id, e.at, e.type, e.actor_type, e.actor_id, coalesce(e.user_id::text, ''),
	e.resource, e.ip, e.user_agent, e.outcome, e.reason`

func scanEvent(row pgx.CollectableRow) (*auth.Event, error) {
	var (
		ev                      auth.Event
		typ, actorType, outcome string
	)
	err := row.Scan(&ev.ID, &ev.At, &typ, &actorType, &ev.ActorID, &ev.UserID,
		&ev.Resource, &ev.IP, &ev.UserAgent, &outcome, &ev.Reason)
	ev.At = ev.At.UTC()
	ev.Type, ev.ActorType, ev.Outcome = auth.EventType(typ), auth.ActorType(actorType), auth.Outcome(outcome)
	return &ev, err
}

// ListEvents returns at most f.Limit audit events, newest (greatest id)
// first: those that f.UserID caused or that concern f.UserID, of type f.Type,
// with f.Since <= At < f.Until, and with ids less than f.Before, each filter
// applying only when set. A malformed f.UserID concerns no event. Returns
// EInvalid if f.Limit is not positive or f.Before is not a canonical UUID.
func (db *DB) ListEvents(ctx context.Context, f auth.EventFilter) ([]*auth.Event, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	if f.UserID != "" && !auth.ValidID(f.UserID) {
		return nil, nil
	}
	var w where
	if f.Type != "" {
		w.add("e.type = %s", string(f.Type))
	}
	if !f.Since.IsZero() {
		w.add("e.at >= %s", f.Since)
	}
	if !f.Until.IsZero() {
		w.add("e.at < %s", f.Until)
	}
	if f.Before != "" {
		w.add("e.id < %s", f.Before)
	}
	var sql string
	if f.UserID == "" {
		sql = `SELECT ` + eventColumns + ` FROM audit_events e WHERE ` + w.String() + `
			ORDER BY e.id DESC LIMIT ` + w.arg(f.Limit)
	} else {
		// "actor_id = u OR user_id = u" would read every event of the user
		// to sort them. Each side instead reads its own index newest first
		// and stops after a page; the union drops the events that are on
		// both sides (a user acting on themselves) and keeps the newest page.
		actor := w.String() + " AND e.actor_id = " + w.arg(f.UserID)
		user := w.String() + " AND e.user_id = " + w.arg(f.UserID) + "::uuid"
		limit := w.arg(f.Limit)
		sql = `SELECT * FROM (
			(SELECT ` + eventColumns + ` FROM audit_events e WHERE ` + actor + `
			 ORDER BY e.id DESC LIMIT ` + limit + `)
			UNION
			(SELECT ` + eventColumns + ` FROM audit_events e WHERE ` + user + `
			 ORDER BY e.id DESC LIMIT ` + limit + `)
		) AS e ORDER BY e.id DESC LIMIT ` + limit
	}
	rows, err := db.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, dbError("list events", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, dbError("list events", err)
	}
	return events, nil
}

// DeleteEventsBefore removes the audit events with At before before and
// returns how many it removed.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM audit_events WHERE at < $1`, before)
	if err != nil {
		return 0, dbError("delete events", err)
	}
	return tag.RowsAffected(), nil
}

// where builds the WHERE clause of a list query from the filters that are
// set. Building it, rather than writing "($1 = ” OR …)" for every filter,
// leaves the planner only real conditions: a keyset bound like "id > $n"
// then seeks in the index instead of filtering from its start.
type where struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds a condition; format holds one %s for the placeholder of v.
func (w *where) add(format string, v any) {
	w.conds = append(w.conds, fmt.Sprintf(format, w.arg(v)))
}

// String returns the conditions joined with AND, or TRUE when there are none.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}
