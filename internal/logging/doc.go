// Package logging carries what is known about the request being served in
// its context, and decorates every slog record written under that context
// with it: request_id, trace_id, route, client_ip and user_id. Code that
// logs with a context (slog's *Context methods) gets them for free, the
// domain included, without knowing about HTTP.
package logging
