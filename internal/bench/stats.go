package bench

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Outcome is the result of one request.
type Outcome struct {
	// Status is the HTTP status, 0 when the request failed in transport.
	Status int
	// Err is a transport failure, or errInvalidBody for a 2xx response the
	// worker could not use; either makes the request a failure.
	Err error
	// Reset asks the runner to Prepare the worker again, untimed, before its
	// next request: its state is spent (a refresh token that failed, an access
	// token the server no longer accepts).
	Reset bool
}

// errInvalidBody marks a 2xx response whose body lacks what the worker needs.
var errInvalidBody = errors.New("invalid response body")

// Error keys of Summary.Errors besides HTTP status codes.
const (
	// ErrTransport counts requests that got no HTTP response (refused
	// connection, timeout, reset).
	ErrTransport = "transport"
	// ErrInvalidBody counts 2xx responses that did not carry what the
	// scenario needs (tokens).
	ErrInvalidBody = "invalid-body"
	// ErrSetup counts failed re-logins of a worker during a run.
	ErrSetup = "setup"
)

// ok reports whether o counts as throughput: a 2xx response, fully read.
func (o Outcome) ok() bool { return o.Err == nil && o.Status >= 200 && o.Status < 300 }

// key is the error class of a failed outcome, as reported in Summary.Errors.
func (o Outcome) key() string {
	switch {
	case errors.Is(o.Err, errInvalidBody):
		return ErrInvalidBody
	case o.Err != nil:
		return ErrTransport
	}
	return strconv.Itoa(o.Status)
}

// stats collects one worker's outcomes. Each worker owns one, so recording
// takes no lock and does not disturb the measurement.
type stats struct {
	latencies []time.Duration // of successful requests only
	errors    map[string]int
}

func newStats() *stats { return &stats{errors: map[string]int{}} }

// record adds a request that took d.
func (s *stats) record(o Outcome, d time.Duration) {
	if o.ok() {
		s.latencies = append(s.latencies, d)
		return
	}
	s.errors[o.key()]++
}

// Summary is the merge of every worker's stats over a run.
type Summary struct {
	// Requests is the number of successful (2xx) requests; failures are
	// never throughput.
	Requests int
	// Elapsed is the time from the first request to the return of the last
	// one (requests in flight at the deadline are waited for and counted).
	Elapsed time.Duration
	// Latency percentiles (nearest rank) and maximum of the successful
	// requests; zero when there were none.
	P50, P95, P99, Max time.Duration
	// Errors counts failed requests by HTTP status ("401", "503"), or
	// ErrTransport, ErrInvalidBody, ErrSetup.
	Errors map[string]int
}

// Rate returns successful requests per second.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// ErrorCount returns the number of failed requests of every kind.
func (s Summary) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// ErrorKeys returns the keys of Errors in a stable order.
func (s Summary) ErrorKeys() []string {
	return slices.Sorted(maps.Keys(s.Errors))
}

// summarize merges the workers' stats. Percentiles are exact: computed from
// every sample, not from a histogram.
func summarize(elapsed time.Duration, all []*stats) Summary {
	n := 0
	for _, s := range all {
		n += len(s.latencies)
	}
	samples := make([]time.Duration, 0, n)
	errs := map[string]int{}
	for _, s := range all {
		samples = append(samples, s.latencies...)
		for k, c := range s.errors {
			errs[k] += c
		}
	}
	slices.Sort(samples)
	sum := Summary{Requests: n, Elapsed: elapsed, Errors: errs}
	if n > 0 {
		sum.P50 = percentile(samples, 50)
		sum.P95 = percentile(samples, 95)
		sum.P99 = percentile(samples, 99)
		sum.Max = samples[n-1]
	}
	return sum
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample that at least p% of the samples
// do not exceed. It is always one of the samples. Integer arithmetic keeps
// 95% of 100 at rank 95 (in floating point, 0.95*100 rounds up to 96).
// It returns 0 for no samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ratio returns rate ÷ limit, and false when there is no limit to compare
// with (not measured, or zero).
func Ratio(rate, limit float64) (float64, bool) {
	if limit <= 0 {
		return 0, false
	}
	return rate / limit, true
}
