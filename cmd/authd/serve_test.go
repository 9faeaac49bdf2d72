package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebugListener: AUTH_DEBUG_ADDR serves pprof on its own loopback
// listener, never on the public one, and stops with the server.
func TestDebugListener(t *testing.T) {
	addr, debug := freeAddr(t), freeAddr(t)
	vars := map[string]string{
		"AUTH_ADDR":              addr,
		"AUTH_DEBUG_ADDR":        debug,
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, strings.NewReader(""), io.Discard, io.Discard)
	}()
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(20 * time.Second)
	for get("http://"+debug+"/debug/pprof/cmdline") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the debug listener did not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("http://" + addr + "/debug/pprof/cmdline"); got != http.StatusNotFound {
		t.Fatalf("pprof on the public listener: %d, want 404", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := get("http://" + debug + "/debug/pprof/cmdline"); got != 0 {
		t.Fatalf("debug listener still answers after shutdown: %d", got)
	}
}
