package bench

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssMetric is the Prometheus process collector's resident set size, which
// authd's /metrics exports on Linux.
const rssMetric = "process_resident_memory_bytes"

// memoryEvery is how often the server's memory is sampled during a scenario.
const memoryEvery = 500 * time.Millisecond

// Memory is the server's resident memory around and during one scenario,
// in bytes. With several replicas each figure is the largest of any replica
// at that sample: the question a memory figure answers is whether a process
// fits its container, and every replica runs in one of the same size.
type Memory struct {
	Before, After, Max float64
}

// residentMemory reads rssMetric from the server's /metrics, and false when
// the server does not export it (or /metrics can't be read).
func (t *target) residentMemory(ctx context.Context) (float64, bool) {
	status, body, err := t.send(ctx, http.MethodGet, "/metrics", "", nil, true)
	if err != nil || status != http.StatusOK {
		return 0, false
	}
	return parseMetric(body, rssMetric)
}

// parseMetric returns the value of the unlabelled sample name in a
// Prometheus text exposition.
func parseMetric(exposition []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		// "value [timestamp]"
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// maxResidentMemory returns the largest resident memory of the servers ts,
// and false when none of them exports it.
func maxResidentMemory(ctx context.Context, ts []*target) (float64, bool) {
	var peak float64
	found := false
	for _, t := range ts {
		if v, ok := t.residentMemory(ctx); ok {
			peak, found = max(peak, v), true
		}
	}
	return peak, found
}

// watchMemory samples the servers' resident memory now and every
// memoryEvery until the returned function is called, which samples it once
// more and returns the figures (the largest replica's at each sample), or
// nil when no server exports them.
func watchMemory(ctx context.Context, t []*target) func() *Memory {
	before, ok := maxResidentMemory(ctx, t)
	if !ok {
		return func() *Memory { return nil }
	}
	// The sampler alone writes peak until wg.Wait returns.
	peak := before
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(memoryEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if v, ok := maxResidentMemory(ctx, t); ok {
				peak = max(peak, v)
			}
		}
	})
	return func() *Memory {
		close(stop)
		wg.Wait()
		m := &Memory{Before: before, After: before, Max: peak}
		if v, ok := maxResidentMemory(ctx, t); ok {
			m.After = v
			m.Max = max(m.Max, v)
		}
		return m
	}
}
