package httpapi

import "net/http"

// routes registers every endpoint; this is the one place to find them.
func (s *server) routes() {
	s.handle("POST /api/v1/auth/register", s.register)
	s.handle("POST /api/v1/auth/login", s.login)
	s.handle("POST /api/v1/auth/refresh", s.refresh)
	s.handleAuthed("POST /api/v1/auth/logout", s.logout)
	s.handleAuthed("POST /api/v1/auth/logout-all", s.logoutAll)
	s.handleAuthed("GET /api/v1/auth/sessions", s.listSessions)
	s.handleAuthed("DELETE /api/v1/auth/sessions/{id}", s.revokeSession)
	s.handleAuthed("POST /api/v1/auth/password/change", s.changePassword)
	s.handleAuthed("GET /api/v1/auth/verify", s.verify)

	s.handleAuthed("GET /api/v1/users/me", s.me)
	s.handleAuthed("PATCH /api/v1/users/me", s.updateMe)
	s.handleAuthed("DELETE /api/v1/users/me", s.deleteMe)

	s.handle("GET /.well-known/jwks.json", s.jwks)
	s.handle("GET /.well-known/openid-configuration", s.openIDConfiguration)
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	if s.metrics != nil {
		s.handle("GET /metrics", func(w http.ResponseWriter, r *http.Request) error {
			s.metrics.ServeHTTP(w, r)
			return nil
		})
	}
}
