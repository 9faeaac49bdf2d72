package httpapi_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// TestSessionListingPages: GET /api/v1/auth/sessions and the admin
// GET /api/v1/users/{id}/sessions come in pages of ?limit= with a
// next_cursor to pass as ?cursor=, empty on the last page; the sessions
// array keeps its shape.
func TestSessionListingPages(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		adm := f.login(t, "root@example.com").access
		a := f.register(t, "ada@example.com")
		want := map[string]bool{a.session: true}
		for range 2 {
			want[f.login(t, "ada@example.com").session] = true
		}

		walk := func(path, token string) (pages int) {
			t.Helper()
			seen := map[string]bool{}
			cursor := ""
			for {
				pages++
				res := f.do(t, get, path+"?limit=2&cursor="+url.QueryEscape(cursor), token, "", nil)
				if res.status != 200 {
					t.Fatalf("%s page %d: %d %s", path, pages, res.status, res.body)
				}
				var page struct {
					Sessions []struct {
						ID      string `json:"id"`
						Current bool   `json:"current"`
					} `json:"sessions"`
					NextCursor *string `json:"next_cursor"`
				}
				if err := json.Unmarshal(res.body, &page); err != nil || page.NextCursor == nil {
					t.Fatalf("%s page %d: %v, next_cursor present: %v: %s", path, pages, err, page.NextCursor != nil, res.body)
				}
				if len(page.Sessions) > 2 {
					t.Fatalf("%s page %d: %d sessions, limit 2", path, pages, len(page.Sessions))
				}
				for _, s := range page.Sessions {
					if seen[s.ID] {
						t.Errorf("%s: session %s on two pages", path, s.ID)
					}
					seen[s.ID] = true
					if s.Current != (token == a.access && s.ID == a.session) {
						t.Errorf("%s: session %s current = %v", path, s.ID, s.Current)
					}
				}
				if *page.NextCursor == "" {
					break
				}
				cursor = *page.NextCursor
			}
			if len(seen) != len(want) {
				t.Errorf("%s: walked %d sessions, want %d", path, len(seen), len(want))
			}
			for id := range want {
				if !seen[id] {
					t.Errorf("%s: session %s never listed", path, id)
				}
			}
			return pages
		}
		if n := walk("/api/v1/auth/sessions", a.access); n != 2 {
			t.Errorf("own sessions: %d pages of 2 for 3 sessions, want 2", n)
		}
		if n := walk("/api/v1/users/"+a.userID+"/sessions", adm); n != 2 {
			t.Errorf("admin listing: %d pages of 2 for 3 sessions, want 2", n)
		}

		// Without parameters: every session (up to 50) and an empty cursor.
		f.run(t, []scenario{
			{name: "one page", method: get, path: "/api/v1/auth/sessions", token: a.access, wantStatus: 200, wantIn: []string{`"next_cursor":""`, a.session}},
			{name: "limit not a number", method: get, path: "/api/v1/auth/sessions?limit=two", token: a.access, wantStatus: 400, wantCode: "invalid_request"},
			{name: "limit too big", method: get, path: "/api/v1/auth/sessions?limit=101", token: a.access, wantStatus: 400, wantCode: "invalid_request"},
			{name: "forged cursor", method: get, path: "/api/v1/auth/sessions?cursor=czpub3QtYW4taWQ", token: a.access, wantStatus: 400, wantCode: "invalid_request"},
			{name: "a user-list cursor", method: get, path: "/api/v1/auth/sessions?cursor=dTowMTkwYzBkZS0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA", token: a.access, wantStatus: 400, wantCode: "invalid_request"},
			{name: "admin: limit too big", method: get, path: "/api/v1/users/" + a.userID + "/sessions?limit=101", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "admin: forged cursor", method: get, path: "/api/v1/users/" + a.userID + "/sessions?cursor=x", token: adm, wantStatus: 400, wantCode: "invalid_request"},
		})
	})
}
