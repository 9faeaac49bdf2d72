package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// newEvent returns a successful event of type t at at, from the request
// origin c, with no actor (the caller sets ActorType and ActorID).
func newEvent(t EventType, at time.Time, c Origin) *Event {
	return &Event{
		ID:        uuid.Must(uuid.NewV7()).String(),
		At:        at,
		Type:      t,
		ActorType: ActorAnonymous,
		IP:        truncate(c.IP, 64),
		UserAgent: truncate(c.UserAgent, 512),
		Outcome:   OutcomeSuccess,
	}
}

// byUser marks the event as caused by userID and concerning userID unless a
// concerned user is set already.
func (e *Event) byUser(userID string) *Event {
	e.ActorType, e.ActorID = ActorUser, userID
	if e.UserID == "" {
		e.UserID = userID
	}
	return e
}

// byPrincipal marks the event as caused by the authenticated caller.
func (e *Event) byPrincipal(p *Principal) *Event {
	if p.Origin.IP != "" || p.Origin.UserAgent != "" {
		e.IP, e.UserAgent = truncate(p.Origin.IP, 64), truncate(p.Origin.UserAgent, 512)
	}
	return e.byUser(p.UserID)
}

// about sets the user the event concerns and the other object concerned.
func (e *Event) about(userID, resource string) *Event {
	e.UserID, e.Resource = userID, resource
	return e
}

// AuditQuery selects audit events for Audit. Cursor is the NextCursor of the
// previous page ("" for the newest).
type AuditQuery struct {
	UserID string
	Type   EventType
	Since  time.Time
	Until  time.Time
	Cursor string
	Limit  int // 1..100; 0 means DefaultPageSize
}

// Audit returns one page of audit events, newest first, and the cursor of
// the next page ("" on the last). Needs audit:read. Returns EInvalid for a
// malformed cursor, limit or filter.
func (s *Admin) Audit(ctx context.Context, p *Principal, q AuditQuery) ([]*Event, string, error) {
	if err := s.require(ctx, p, PermAuditRead); err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	before, err := decodeCursor(q.Cursor, cursorAudit)
	if err != nil {
		return nil, "", err
	}
	if q.UserID != "" && !ValidID(q.UserID) {
		return nil, "", Errorf(EInvalid, "user_id must be a user id")
	}
	if q.Type != "" && !knownEventType(q.Type) {
		return nil, "", Errorf(EInvalid, "unknown event type %q", truncate(string(q.Type), 64))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, "", Errorf(EInvalid, "since must be before until")
	}
	// RFC 3339 writes years 0000 to 9999, but an offset can take a time
	// past either end in UTC, the form stores compare; SQLite compares its
	// text, in which year 10000 sorts before 2025.
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"since", q.Since}, {"until", q.Until}} {
		if y := b.t.UTC().Year(); !b.t.IsZero() && (y < 0 || y > 9999) {
			return nil, "", Errorf(EInvalid, "%s must be within the years 0000 to 9999 in UTC", b.name)
		}
	}
	events, err := s.store.ListEvents(ctx, EventFilter{
		UserID: q.UserID, Type: q.Type, Since: q.Since.UTC(), Until: q.Until.UTC(),
		Before: before, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = encodeCursor(cursorAudit, events[limit-1].ID)
	}
	return events, next, nil
}

func knownEventType(t EventType) bool {
	for _, k := range EventTypes() {
		if k == t {
			return true
		}
	}
	return false
}

// record appends an event that accompanies no other write. Losing it must
// not fail the request it describes (a failed login stays failed), so an
// error is logged, not returned.
func (s *core) record(ctx context.Context, ev *Event) {
	if err := s.store.AppendEvent(ctx, ev); err != nil {
		s.log.WarnContext(ctx, "audit event not recorded", "type", ev.Type, "err", err)
	}
}

// PurgeAudit deletes audit events older than retention and returns how many
// it deleted. A retention of 0 keeps every event.
func (s *Admin) PurgeAudit(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, nil
	}
	n, err := s.store.DeleteEventsBefore(ctx, s.now().Add(-retention))
	if err != nil {
		return 0, fmt.Errorf("purge audit events: %w", err)
	}
	return n, nil
}
