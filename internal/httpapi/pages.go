package httpapi

import (
	"errors"
	"net/http"

	"github.com/talentforge/authd/internal/auth"
)

// The endpoints the hosted pages need beyond the account API, and the
// pages themselves (served by internal/ui).

type passwordCheckJSON struct {
	Acceptable bool      `json:"acceptable"`
	Code       auth.Code `json:"code" doc:"Empty when acceptable; weak_password (too short, or a common or breached password) or invalid_request (too long, not UTF-8)."`
	Message    string    `json:"message" doc:"What to tell the person; empty when acceptable."`
}

// passwordCheck answers whether a password would be accepted, so a form
// can say so while it is typed. 200 either way: the answer is the body.
func (s *server) passwordCheck(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	var in passwordCheckRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	out := passwordCheckJSON{Acceptable: true}
	if err := s.accounts.CheckPassword(in.Password); err != nil {
		var e *auth.Error
		if !errors.As(err, &e) {
			return err
		}
		out = passwordCheckJSON{Code: e.Code, Message: e.Message}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type permissionsJSON struct {
	Permissions []auth.Permission `json:"permissions" doc:"Every permission the caller's roles grant now, sorted."`
}

func (s *server) myPermissions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	perms, err := s.accounts.Permissions(r.Context(), p)
	if err != nil {
		return err
	}
	if perms == nil {
		perms = []auth.Permission{}
	}
	writeJSON(w, http.StatusOK, permissionsJSON{Permissions: perms})
	return nil
}

// servePages hands /ui/… to the hosted pages.
func (s *server) servePages(w http.ResponseWriter, r *http.Request) error {
	if s.pages == nil {
		return auth.Errorf(auth.ENotFound, "The hosted pages are turned off (AUTH_UI_ENABLED).")
	}
	s.pages.ServeHTTP(w, r)
	return nil
}
