package bench

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// shuffled returns 1ms … n ms in random order: percentiles must not depend
// on the order in which workers recorded their samples.
func shuffled(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = ms(i + 1)
	}
	rand.Shuffle(n, func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func TestPercentiles(t *testing.T) {
	tests := []struct {
		name               string
		samples            []time.Duration
		p50, p95, p99, max time.Duration
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one sample", []time.Duration{ms(7)}, ms(7), ms(7), ms(7), ms(7)},
		{"1..100ms", shuffled(100), ms(50), ms(95), ms(99), ms(100)},
		{"1..10ms", shuffled(10), ms(5), ms(10), ms(10), ms(10)},
		{"1..1000ms", shuffled(1000), ms(500), ms(950), ms(990), ms(1000)},
		{"1..200ms", shuffled(200), ms(100), ms(190), ms(198), ms(200)},
		{"outlier", append([]time.Duration{ms(900)}, make99(ms(1))...), ms(1), ms(1), ms(1), ms(900)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Split the samples over three workers, as the runner does.
			ws := []*stats{newStats(), newStats(), newStats()}
			for i, d := range tt.samples {
				ws[i%3].record(Outcome{Status: 200}, d)
			}
			s := summarize(time.Second, ws)
			got := [4]time.Duration{s.P50, s.P95, s.P99, s.Max}
			want := [4]time.Duration{tt.p50, tt.p95, tt.p99, tt.max}
			if got != want {
				t.Errorf("p50/p95/p99/max = %v, want %v", got, want)
			}
			if s.Requests != len(tt.samples) {
				t.Errorf("requests %d, want %d", s.Requests, len(tt.samples))
			}
		})
	}
}

func make99(d time.Duration) []time.Duration {
	s := make([]time.Duration, 99)
	for i := range s {
		s[i] = d
	}
	return s
}

func TestFailuresAreNeverThroughput(t *testing.T) {
	a, b := newStats(), newStats()
	a.record(Outcome{Status: 200}, ms(1))
	a.record(Outcome{Status: 201}, ms(2))
	a.record(Outcome{Status: 401}, ms(900))
	a.record(Outcome{Err: errors.New("connection refused")}, ms(1))
	b.record(Outcome{Status: 204}, ms(3))
	b.record(Outcome{Status: 429}, ms(1))
	b.record(Outcome{Status: 401}, ms(1))
	b.record(Outcome{Status: 200, Err: errInvalidBody}, ms(800))
	b.record(Outcome{Status: 302}, ms(1))
	b.errors[ErrSetup]++

	s := summarize(2*time.Second, []*stats{a, b})
	if s.Requests != 3 {
		t.Errorf("requests %d, want the 3 2xx responses", s.Requests)
	}
	if s.Rate() != 1.5 {
		t.Errorf("rate %v, want 3 successes / 2 s", s.Rate())
	}
	if s.Max != ms(3) {
		t.Errorf("max %v: failed requests must not enter the latencies", s.Max)
	}
	want := map[string]int{"401": 2, "429": 1, "302": 1, ErrTransport: 1, ErrInvalidBody: 1, ErrSetup: 1}
	if diff := cmp.Diff(want, s.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if s.ErrorCount() != 7 {
		t.Errorf("error count %d, want 7", s.ErrorCount())
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		rate, limit, want float64
		ok                bool
	}{
		{50, 100, 0.5, true},
		{100, 100, 1, true},
		{120, 100, 1.2, true}, // noise can put a scenario above its limit
		{0, 100, 0, true},
		{50, 0, 0, false}, // no limit measured
	}
	for _, tt := range tests {
		got, ok := Ratio(tt.rate, tt.limit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Ratio(%v, %v) = %v, %v; want %v, %v", tt.rate, tt.limit, got, ok, tt.want, tt.ok)
		}
	}

	lim := &Limits{Argon2id: 40, Tokens: 9000, Bare: &Summary{Requests: 30000, Elapsed: time.Second}}
	for _, tt := range []struct {
		scenario string
		rate     float64
		name     string
		ratio    float64
		ok       bool
	}{
		{Login, 30, "argon2id", 0.75, true},
		{Verify, 15000, "bare net/http", 0.5, true},
		{Me, 6000, "bare net/http", 0.2, true},
		{Refresh, 900, "", 0, false},
		{Register, 35, "", 0, false},
	} {
		r := Result{Name: tt.scenario, Summary: Summary{Requests: int(tt.rate), Elapsed: time.Second}}
		r.LimitName, r.Limit = lim.of(tt.scenario)
		got, ok := r.Ratio()
		if r.LimitName != tt.name || got != tt.ratio || ok != tt.ok {
			t.Errorf("%s: limit %q, ratio %v, %v; want %q, %v, %v", tt.scenario, r.LimitName, got, ok, tt.name, tt.ratio, tt.ok)
		}
	}
	if name, l := (*Limits)(nil).of(Login); name != "" || l != 0 {
		t.Errorf("no limits measured: got %q %v", name, l)
	}
}

func TestParseMetric(t *testing.T) {
	exp := []byte(`# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes_total 1
process_resident_memory_bytes 3.3554432e+07
process_virtual_memory_bytes 1.2e+09
`)
	if v, ok := parseMetric(exp, rssMetric); !ok || v != 32<<20 {
		t.Errorf("got %v, %v; want 32 MiB", v, ok)
	}
	if _, ok := parseMetric([]byte("go_goroutines 8\n"), rssMetric); ok {
		t.Error("absent metric reported present")
	}
}
