package sqlite

import "github.com/talentforge/authd/internal/metrics"

// PoolStats reports the connection pool's state, for metrics.
func (db *DB) PoolStats() metrics.DBStats {
	s := db.db.Stats()
	return metrics.DBStats{
		InUse:    s.InUse,
		Idle:     s.Idle,
		Max:      s.MaxOpenConnections,
		Waits:    s.WaitCount,
		WaitTime: s.WaitDuration,
	}
}
