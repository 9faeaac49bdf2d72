package main

import (
	"log/slog"
	"runtime"
	"testing"

	"github.com/talentforge/authd/internal/config"
)

// TestReserveHashingProcs: with AUTH_HASH_PRIORITY, GOMAXPROCS grows by the
// hashing threads, whose number is fixed from the CPU limit before it grows,
// and is restored after; without, nothing changes.
func TestReserveHashingProcs(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	log := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		name                  string
		priority, concurrency int
		wantConcurrency       int
		wantProcs             int
	}{
		{"no priority", 0, 0, 0, procs},
		{"priority, default concurrency", 10, 0, procs, 2 * procs},
		{"priority, concurrency 1", 19, 1, 1, procs + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS != "linux" {
				tt.wantConcurrency, tt.wantProcs = tt.concurrency, procs
			}
			cfg := &config.Config{HashPriority: tt.priority, HashConcurrency: tt.concurrency}
			restore := reserveHashingProcs(cfg, log)
			got := runtime.GOMAXPROCS(0)
			restore()
			if got != tt.wantProcs || cfg.HashConcurrency != tt.wantConcurrency {
				t.Errorf("GOMAXPROCS %d, hashing concurrency %d; want %d, %d", got, cfg.HashConcurrency, tt.wantProcs, tt.wantConcurrency)
			}
			if n := runtime.GOMAXPROCS(0); n != procs {
				t.Errorf("GOMAXPROCS %d after restore; want %d", n, procs)
			}
		})
	}
}
