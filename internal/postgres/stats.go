package postgres

import "github.com/talentforge/authd/internal/metrics"

// PoolStats reports the connection pool's state, for metrics.
func (db *DB) PoolStats() metrics.DBStats {
	s := db.pool.Stat()
	return metrics.DBStats{
		InUse:    int(s.AcquiredConns()),
		Idle:     int(s.IdleConns()),
		Max:      int(s.MaxConns()),
		Waits:    s.EmptyAcquireCount(),
		WaitTime: s.EmptyAcquireWaitTime(),
	}
}
