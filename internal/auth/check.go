package auth

import (
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// The checks below are part of the Store contract: every backend applies them
// before touching the database, so they live here once rather than in each
// backend.

// ValidID reports whether id is a UUID in canonical (lower-case, hyphenated)
// form, the only form Store accepts.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// SortedSet returns xs (role names, permissions, scopes) sorted with
// duplicates removed, nil when empty, without changing the argument.
func SortedSet(xs []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(xs)))
}

// CheckNew returns EInvalid if u can't be inserted: an id that is not a
// canonical UUID or an unknown status.
func (u *User) CheckNew() error {
	if !ValidID(u.ID) {
		return Errorf(EInvalid, "The user id must be a UUID.")
	}
	if u.Status != StatusActive && u.Status != StatusDisabled {
		return Errorf(EInvalid, "Unknown user status %q.", u.Status)
	}
	return nil
}

// CheckNew returns EInvalid if s can't be inserted with first as its first
// refresh token.
func (s *Session) CheckNew(first *RefreshToken) error {
	if !ValidID(s.ID) || !ValidID(s.UserID) {
		return Errorf(EInvalid, "Session and user ids must be UUIDs.")
	}
	if first.UserID != s.UserID || first.SessionID != s.ID {
		return Errorf(EInvalid, "The refresh token does not belong to the session.")
	}
	return nil
}

// CheckSuccessor returns EInvalid if next does not continue old's family:
// another user or session, or a generation that does not advance.
func (old *RefreshToken) CheckSuccessor(next *RefreshToken) error {
	if next.UserID != old.UserID || next.SessionID != old.SessionID || next.Generation <= old.Generation {
		return Errorf(EInvalid, "The new refresh token does not continue the old one's family.")
	}
	return nil
}

// Importable checks users for a bulk import and returns them without those
// that repeat the id or email of an earlier one (the import skips taken ones
// anyway; a batch must not race itself). A user that fails CheckNew makes
// the whole batch EInvalid, naming its position.
func Importable(users []*User) ([]*User, error) {
	ids := make(map[string]bool, len(users))
	emails := make(map[string]bool, len(users))
	keep := make([]*User, 0, len(users))
	for i, u := range users {
		if err := u.CheckNew(); err != nil {
			return nil, &Error{Code: EInvalid, Message: fmt.Sprintf("User %d: %s", i, ErrorMessage(err))}
		}
		if ids[u.ID] || emails[u.Email] {
			continue
		}
		ids[u.ID], emails[u.Email] = true, true
		keep = append(keep, u)
	}
	return keep, nil
}

// CheckNew returns EInvalid if ev can't be recorded: an id that is not a
// canonical UUID, or a concerned user that is neither empty nor one.
func (ev *Event) CheckNew() error {
	if !ValidID(ev.ID) {
		return Errorf(EInvalid, "The event id must be a UUID.")
	}
	if ev.UserID != "" && !ValidID(ev.UserID) {
		return Errorf(EInvalid, "The event's user id must be a UUID.")
	}
	return nil
}

// CheckFor returns EInvalid if ev can't be appended in a unit of work on
// userID's rows: CheckNew's reasons, or an event about another user.
func (ev *Event) CheckFor(userID string) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	if ev.UserID != "" && ev.UserID != userID {
		return ErrOtherUser
	}
	return nil
}

// Check returns EInvalid for a limit that is not positive or a cursor that
// is not a user id.
func (f *UserFilter) Check() error {
	if f.Limit <= 0 {
		return Errorf(EInvalid, "The limit must be positive.")
	}
	if f.After != "" && !ValidID(f.After) {
		return Errorf(EInvalid, "The cursor must be a user id.")
	}
	return nil
}

// Check returns EInvalid for a limit that is not positive or a cursor that
// is not an event id.
func (f *EventFilter) Check() error {
	if f.Limit <= 0 {
		return Errorf(EInvalid, "The limit must be positive.")
	}
	if f.Before != "" && !ValidID(f.Before) {
		return Errorf(EInvalid, "The cursor must be an event id.")
	}
	return nil
}

// Check returns EInvalid for a limit that is not positive or a cursor that
// is not a session id.
func (f *SessionFilter) Check() error {
	if f.Limit <= 0 {
		return Errorf(EInvalid, "The limit must be positive.")
	}
	if f.Before != "" && !ValidID(f.Before) {
		return Errorf(EInvalid, "The cursor must be a session id.")
	}
	return nil
}
