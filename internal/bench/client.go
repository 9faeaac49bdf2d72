package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// RequestTimeout bounds every request of a run, so that a stuck server
// can't stretch a run much beyond its duration.
const RequestTimeout = 30 * time.Second

// maxBody bounds the bodies the bench reads into memory (token responses);
// every other body is drained without being kept.
const maxBody = 1 << 20

// NewClient returns the HTTP client that every request of a run goes through,
// tuned for load on loopback: keep-alive connections, enough idle connections
// per host that no worker ever has to dial again after its first request
// (Go's default keeps two, which turns a load test into a connect test), no
// proxy from the environment, and no transparent gzip, whose decompression
// would be measured as server latency.
func NewClient(concurrency int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: RequestTimeout,
		Transport: &http.Transport{
			Proxy:       nil,
			DialContext: d.DialContext,
			// A run talks to authd and to the bare handler.
			MaxIdleConns:          2 * concurrency,
			MaxIdleConnsPerHost:   concurrency,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: RequestTimeout,
			DisableCompression:    true,
			DisableKeepAlives:     false,
		},
	}
}

// target is a server under test.
type target struct {
	client   *http.Client
	base     string // scheme://host[:port], no trailing slash
	password string // of every user the bench seeds or registers
}

// send makes one request and returns its status. When keep is true and the
// status is 2xx it also returns the body. The body is always read to its end
// and closed, so that the connection goes back to the pool instead of being
// torn down. A non-nil error is a transport failure (status 0) or a body that
// could not be read.
func (t *target) send(ctx context.Context, method, path, bearer string, body []byte, keep bool) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("User-Agent", "authd-bench")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if keep && resp.StatusCode/100 == 2 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err == nil {
			// Anything past maxBody still has to go for the connection to be reused.
			_, err = io.Copy(io.Discard, resp.Body)
		}
		return resp.StatusCode, b, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil, err
}
