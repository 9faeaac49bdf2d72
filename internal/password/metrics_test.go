package password

import (
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/talentforge/authd/internal/auth"
)

// gathered reads the hasher's metrics through a registry, as /metrics does.
func gathered(t *testing.T, h *Hasher) map[string]*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			out[name] = m
		}
	}
	return out
}

func TestHashMetrics(t *testing.T) {
	ctx := t.Context()
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: time.Hour})
	encoded, err := h.Hash(ctx, "passw0rd one")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(ctx, "passw0rd one", encoded); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(ctx, "wrong", ""); err != nil {
		t.Fatal(err)
	}
	m := gathered(t, h)
	if n := m["authd_password_hash_duration_seconds/hash"].GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("hash durations: %d, want 1", n)
	}
	if n := m["authd_password_hash_duration_seconds/verify"].GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("verify durations: %d, want 2", n)
	}
	if n := m["authd_password_hash_wait_seconds"].GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("waits: %d, want 3 (one per computation)", n)
	}

	// With the only slot held, a caller queues: the gauges show it until
	// the slot is released.
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := h.Hash(ctx, "passw0rd two"); done <- err }()
	for h.metrics.waiting.Load() == 0 {
		runtime.Gosched() // until the goroutine has queued; no timing involved
	}
	m = gathered(t, h)
	if v := m["authd_password_hash_queue_depth"].GetGauge().GetValue(); v != 1 {
		t.Errorf("queue depth %v while one caller waits, want 1", v)
	}
	if v := m["authd_password_hash_in_progress"].GetGauge().GetValue(); v != 1 {
		t.Errorf("in progress %v with the slot held, want 1", v)
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m = gathered(t, h)
	if v := m["authd_password_hash_queue_depth"].GetGauge().GetValue(); v != 0 {
		t.Errorf("queue depth %v after the wait, want 0", v)
	}
	if v := m["authd_password_hash_in_progress"].GetGauge().GetValue(); v != 0 {
		t.Errorf("in progress %v when idle, want 0", v)
	}
	if n := m["authd_password_hash_wait_seconds"].GetHistogram().GetSampleCount(); n != 5 {
		t.Errorf("waits: %d, want 5 (the test's own acquire, then the queued Hash)", n)
	}
	if v := m["authd_password_hash_rejected_total"].GetCounter().GetValue(); v != 0 {
		t.Errorf("rejected %v, want 0", v)
	}
}

func TestHashMetricsRejected(t *testing.T) {
	ctx := t.Context()
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: time.Millisecond})
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.release()
	if _, err := h.Hash(ctx, "passw0rd one"); auth.ErrorCode(err) != auth.EUnavailable {
		t.Fatalf("Hash with no free slot: %v", err)
	}
	m := gathered(t, h)
	if v := m["authd_password_hash_rejected_total"].GetCounter().GetValue(); v != 1 {
		t.Errorf("rejected %v, want 1", v)
	}
	if v := m["authd_password_hash_queue_depth"].GetGauge().GetValue(); v != 0 {
		t.Errorf("queue depth %v after giving up, want 0", v)
	}
	if n := m["authd_password_hash_duration_seconds/hash"].GetHistogram().GetSampleCount(); n != 0 {
		t.Errorf("a refused hash was timed as computed (%d)", n)
	}
}
