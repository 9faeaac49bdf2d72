package authtest

import (
	"context"
	"sync/atomic"

	"github.com/talentforge/authd/internal/auth"
)

// CountingStore counts the reads a cache is meant to save (Session, User
// and SessionWithUser), so tests and benchmarks can show how many reach the
// database.
type CountingStore struct {
	Backend
	reads atomic.Int64
}

// Reads is the number of those calls so far.
func (s *CountingStore) Reads() int64 { return s.reads.Load() }

func (s *CountingStore) Session(ctx context.Context, userID, sessionID string) (*auth.Session, error) {
	s.reads.Add(1)
	return s.Backend.Session(ctx, userID, sessionID)
}

func (s *CountingStore) SessionWithUser(ctx context.Context, userID, sessionID string) (*auth.Session, *auth.User, error) {
	s.reads.Add(1)
	return s.Backend.SessionWithUser(ctx, userID, sessionID)
}

func (s *CountingStore) User(ctx context.Context, id string) (*auth.User, error) {
	s.reads.Add(1)
	return s.Backend.User(ctx, id)
}
