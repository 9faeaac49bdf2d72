package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is every figure of a run.
type Report struct {
	Machine   Machine
	Options   Options     // as validated
	Seed      *SeedResult // nil when no user was seeded
	Limits    *Limits     // nil when not measured
	Scenarios []Result
	// Sizes are the database's tables after the run; nil when not measured,
	// and then SizesNote says why.
	Sizes     *Sizes
	SizesNote string
	Warnings  []string
}

// Machine is where the run happened; the limits are this machine's.
type Machine struct {
	GOMAXPROCS, NumCPU  int
	GoVersion, OS, Arch string
}

func thisMachine() Machine {
	return Machine{
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
}

// Result is one scenario's figures.
type Result struct {
	Name string
	Summary
	// Memory is the server's resident memory during the scenario, nil when
	// its /metrics does not export it.
	Memory *Memory
	// LimitName and Limit (per second) are the ceiling the scenario is
	// compared with; Limit is 0 for scenarios without a natural one.
	LimitName string
	Limit     float64
	// Err says why the scenario could not start; its figures are then zero.
	Err string
}

// Ratio returns the scenario's rate ÷ its limit, and false when it has none.
func (r Result) Ratio() (float64, bool) { return Ratio(r.Rate(), r.Limit) }

// of returns the limit the scenario is compared with: a login can't be
// faster than one argon2id verification, and verify and me can't be faster
// than a handler that does nothing. Refresh and register have no such
// ceiling (they are bound by database writes, and register by a hash too).
func (l *Limits) of(scenario string) (string, float64) {
	switch {
	case l == nil:
		return "", 0
	case scenario == Login || scenario == FloodLogin:
		return "argon2id", l.Argon2id
	case (scenario == Verify || scenario == Me || scenario == FloodVerify) && l.Bare != nil:
		return "bare net/http", l.Bare.Rate()
	}
	return "", 0
}

// rateLimitEnv is what a benchmarked server should be started with, as
// scripts/bench does: the login limits on (a login pays for them) but out
// of a one-IP load generator's reach, the other per-IP limits off.
const rateLimitEnv = "AUTH_RATE_LOGIN_ACCOUNT=1000000/1h AUTH_RATE_LOGIN_ACCOUNT_GLOBAL=1000000/1h AUTH_RATE_LOGIN_IP=1000000/1h AUTH_RATE_REGISTER_IP=off AUTH_RATE_REFRESH_IP=off AUTH_RATE_CLIENT_IP=off"

// maxPlausibleRatio is the highest scenario ÷ limit ratio that measurement
// noise explains.
const maxPlausibleRatio = 1.1

// warnings explains failures that come from how the server is set up
// rather than from its speed.
func warnings(r *Report) []string {
	var w []string
	for _, s := range r.Scenarios {
		if n := s.Errors["429"]; n > 0 {
			w = append(w, fmt.Sprintf("%s: %d responses were 429 Too Many Requests: the server's rate limits are on; benchmark a server started with %s", s.Name, n, rateLimitEnv))
		}
		// The flood is meant to overflow the hashing queue.
		if n := s.Errors["503"]; n > 0 && s.Name != FloodLogin {
			w = append(w, fmt.Sprintf("%s: %d responses were 503: the server's password-hashing queue was full (AUTH_HASH_QUEUE_TIMEOUT); fewer workers (--concurrency) measure its rate without overload", s.Name, n))
		}
		// A scenario can't beat its limit; when it seems to, the load of the
		// machine changed between the two measurements.
		if x, ok := s.Ratio(); ok && x > maxPlausibleRatio {
			w = append(w, fmt.Sprintf("%s ran at %.2f× its limit (%s): the machine's load changed between the two measurements (other processes?); rerun on a quiet machine", s.Name, x, s.LimitName))
		}
		if s.Err == "" && s.Requests == 0 {
			w = append(w, fmt.Sprintf("%s: no request succeeded", s.Name))
		}
	}
	return w
}

// WriteText writes the report as a table for people.
func (r *Report) WriteText(w io.Writer) error {
	o, m := r.Options, r.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "authd bench %s (%s): %d workers, %v per scenario, %d users\n",
		strings.Join(o.URLs, ", "), replicas(len(o.URLs)), o.Concurrency, o.Duration, o.Users)
	fmt.Fprintf(&b, "machine: %s/%s, GOMAXPROCS %d, NumCPU %d, %s\n", m.OS, m.Arch, m.GOMAXPROCS, m.NumCPU, m.GoVersion)
	fmt.Fprintf(&b, "server: argon2id m=%d KiB t=%d p=%d, %s\n",
		o.Server.Argon2MemoryKiB, o.Server.Argon2Iterations, o.Server.Argon2Parallelism, o.Server.Algorithm)
	switch s := r.Seed; {
	case s == nil:
	case s.Inserted == 0:
		fmt.Fprintf(&b, "seed: %d users, all present (checked in %v)\n", s.Users, s.Elapsed.Round(time.Millisecond))
	default:
		fmt.Fprintf(&b, "seed: %d users, %d inserted in %v (%s users/s)\n", s.Users, s.Inserted, s.Elapsed.Round(time.Millisecond), rate(s.Rate()))
	}
	if l := r.Limits; l != nil {
		fmt.Fprintf(&b, "limits on %d goroutines: argon2id %s verifications/s", l.Workers, rate(l.Argon2id))
		if l.Tokens > 0 {
			fmt.Fprintf(&b, ", access tokens (%s) %s verifications/s", o.Server.Algorithm, rate(l.Tokens))
		}
		b.WriteString("\n")
	}
	if len(r.Scenarios) > 0 || r.Limits != nil && r.Limits.Bare != nil {
		b.WriteString("\n")
		// Numbers align right; names are padded to one width so that they
		// read left-aligned.
		const bare = "(bare net/http)"
		name := func(s string) string { return fmt.Sprintf("%-*s", len(bare), s) }
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\treq/s\tp50\tp95\tp99\tmax\terrors\tlimit\tratio\trss max\t\n", name("scenario"))
		for _, s := range r.Scenarios {
			if s.Err != "" {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tsetup failed\t\t\t\t\n", name(s.Name))
				continue
			}
			limit, ratio := "", ""
			if x, ok := s.Ratio(); ok {
				limit = s.LimitName + " " + rate(s.Limit) + "/s"
				ratio = fmt.Sprintf("%.2f", x)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name(s.Name), rate(s.Rate()),
				dur(s.P50), dur(s.P95), dur(s.P99), dur(s.Max), errorList(s.Summary), limit, ratio, memory(s.Memory))
		}
		if l := r.Limits; l != nil && l.Bare != nil {
			s := l.Bare
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\n", bare, rate(s.Rate()),
				dur(s.P50), dur(s.P95), dur(s.P99), dur(s.Max), errorList(*s))
		}
		tw.Flush()
		if len(o.URLs) > 1 && slices.ContainsFunc(r.Scenarios, func(s Result) bool { return s.Memory != nil }) {
			fmt.Fprintf(&b, "rss max: the largest of the %d replicas\n", len(o.URLs))
		}
	}
	switch {
	case r.Sizes != nil:
		b.WriteString("\n")
		r.Sizes.writeText(&b)
	case r.SizesNote != "":
		fmt.Fprintf(&b, "\ndatabase sizes: %s\n", r.SizesNote)
	}
	failed := slices.ContainsFunc(r.Scenarios, func(s Result) bool { return s.Err != "" })
	if failed || len(r.Warnings) > 0 {
		b.WriteString("\n")
	}
	for _, s := range r.Scenarios {
		if s.Err != "" {
			fmt.Fprintf(&b, "%s could not start: %s\n", s.Name, s.Err)
		}
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", x)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// replicas is "1 replica" or "n replicas".
func replicas(n int) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// rate formats a per-second figure with about three significant digits.
func rate(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// dur formats a latency with about three significant digits.
func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func errorList(s Summary) string {
	if len(s.Errors) == 0 {
		return "0"
	}
	parts := make([]string, 0, len(s.Errors))
	for _, k := range s.ErrorKeys() {
		parts = append(parts, fmt.Sprintf("%s×%d", k, s.Errors[k]))
	}
	return strings.Join(parts, " ")
}

func memory(m *Memory) string {
	if m == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", m.Max/(1<<20))
}

// WriteJSON writes the report as one JSON document for machines. Latencies
// are in milliseconds, memory in bytes, rates per second.
func (r *Report) WriteJSON(w io.Writer) error {
	o := r.Options
	doc := jsonReport{
		Machine: jsonMachine{
			GOMAXPROCS: r.Machine.GOMAXPROCS, NumCPU: r.Machine.NumCPU,
			GoVersion: r.Machine.GoVersion, OS: r.Machine.OS, Arch: r.Machine.Arch,
		},
		Config: jsonConfig{
			URLs: o.URLs, Replicas: len(o.URLs), Scenarios: o.Scenarios, Concurrency: o.Concurrency,
			DurationSeconds: o.Duration.Seconds(), Users: o.Users, SeedOnly: o.SeedOnly, Limits: o.Limits,
			Argon2: jsonArgon2{
				MemoryKiB: o.Server.Argon2MemoryKiB, Iterations: o.Server.Argon2Iterations,
				Parallelism: o.Server.Argon2Parallelism,
			},
			Algorithm: o.Server.Algorithm,
		},
		Scenarios: []jsonScenario{},
		Sizes:     r.Sizes.toJSON(),
		SizesNote: r.SizesNote,
		Warnings:  append([]string{}, r.Warnings...),
	}
	if s := r.Seed; s != nil {
		doc.Seed = &jsonSeed{Users: s.Users, Inserted: s.Inserted, Seconds: s.Elapsed.Seconds(), UsersPerSecond: s.Rate()}
	}
	if l := r.Limits; l != nil {
		doc.Limits = &jsonLimits{Workers: l.Workers, Argon2idPerSecond: l.Argon2id, TokensPerSecond: l.Tokens}
		if l.Bare != nil {
			bare := toJSONScenario(Result{Name: "bare", Summary: *l.Bare})
			doc.Limits.Bare = &bare
		}
	}
	for _, s := range r.Scenarios {
		doc.Scenarios = append(doc.Scenarios, toJSONScenario(s))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

type jsonReport struct {
	Machine   jsonMachine    `json:"machine"`
	Config    jsonConfig     `json:"config"`
	Seed      *jsonSeed      `json:"seed,omitempty"`
	Limits    *jsonLimits    `json:"limits,omitempty"`
	Scenarios []jsonScenario `json:"scenarios"`
	Sizes     *jsonSizes     `json:"database_sizes,omitempty"`
	SizesNote string         `json:"database_sizes_note,omitempty"`
	Warnings  []string       `json:"warnings"`
}

type jsonMachine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

type jsonConfig struct {
	URLs            []string   `json:"urls"`
	Replicas        int        `json:"replicas"`
	Scenarios       []string   `json:"scenarios"`
	Concurrency     int        `json:"concurrency"`
	DurationSeconds float64    `json:"duration_seconds"`
	Users           int        `json:"users"`
	SeedOnly        bool       `json:"seed_only"`
	Limits          bool       `json:"limits"`
	Argon2          jsonArgon2 `json:"argon2"`
	Algorithm       string     `json:"algorithm"`
}

type jsonArgon2 struct {
	MemoryKiB   uint32 `json:"memory_kib"`
	Iterations  uint32 `json:"iterations"`
	Parallelism uint8  `json:"parallelism"`
}

type jsonSeed struct {
	Users          int     `json:"users"`
	Inserted       int     `json:"inserted"`
	Seconds        float64 `json:"seconds"`
	UsersPerSecond float64 `json:"users_per_second"`
}

type jsonLimits struct {
	Workers           int           `json:"workers"`
	Argon2idPerSecond float64       `json:"argon2id_verifications_per_second"`
	TokensPerSecond   float64       `json:"token_verifications_per_second"`
	Bare              *jsonScenario `json:"bare_http,omitempty"`
}

type jsonScenario struct {
	Name              string         `json:"name"`
	Requests          int            `json:"requests"`
	Seconds           float64        `json:"seconds"`
	RequestsPerSecond float64        `json:"requests_per_second"`
	LatencyMS         jsonLatency    `json:"latency_ms"`
	Errors            map[string]int `json:"errors"`
	Limit             *jsonLimit     `json:"limit,omitempty"`
	Memory            *jsonMemory    `json:"memory,omitempty"`
	Error             string         `json:"error,omitempty"`
}

type jsonLatency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type jsonLimit struct {
	Name      string  `json:"name"`
	PerSecond float64 `json:"per_second"`
	Ratio     float64 `json:"ratio"`
}

type jsonMemory struct {
	BeforeBytes float64 `json:"before_bytes"`
	AfterBytes  float64 `json:"after_bytes"`
	MaxBytes    float64 `json:"max_bytes"`
}

func toJSONScenario(r Result) jsonScenario {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	s := jsonScenario{
		Name:              r.Name,
		Requests:          r.Requests,
		Seconds:           r.Elapsed.Seconds(),
		RequestsPerSecond: r.Rate(),
		LatencyMS:         jsonLatency{P50: ms(r.P50), P95: ms(r.P95), P99: ms(r.P99), Max: ms(r.Max)},
		Errors:            map[string]int{},
		Error:             r.Err,
	}
	for k, v := range r.Errors {
		s.Errors[k] = v
	}
	if x, ok := r.Ratio(); ok {
		s.Limit = &jsonLimit{Name: r.LimitName, PerSecond: r.Limit, Ratio: x}
	}
	if m := r.Memory; m != nil {
		s.Memory = &jsonMemory{BeforeBytes: m.Before, AfterBytes: m.After, MaxBytes: m.Max}
	}
	return s
}
