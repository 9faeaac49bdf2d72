package logging

import (
	"context"
	"sync"
)

// Request is what is known about one request. The HTTP layer creates it
// when the request arrives and fills in the route and the user as they
// become known; every field may be read by a log line written meanwhile,
// from any goroutine holding the request's context.
type Request struct {
	mu       sync.Mutex
	id       string
	clientIP string
	route    string
	userID   string
}

// NewRequest returns the Request of the request with id, from clientIP.
func NewRequest(id, clientIP string) *Request {
	return &Request{id: id, clientIP: clientIP}
}

// ID returns the request id.
func (r *Request) ID() string { return r.id }

// SetRoute records the pattern of the route that serves the request.
func (r *Request) SetRoute(pattern string) {
	r.mu.Lock()
	r.route = pattern
	r.mu.Unlock()
}

// Route returns the pattern of the matched route, or "" before routing and
// for unmatched requests.
func (r *Request) Route() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.route
}

// SetUserID records the authenticated caller.
func (r *Request) SetUserID(id string) {
	r.mu.Lock()
	r.userID = id
	r.mu.Unlock()
}

// UserID returns the authenticated caller's id, or "" when none is known.
func (r *Request) UserID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userID
}

type ctxKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// RequestFrom returns the Request ctx carries, or nil outside a request.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}
