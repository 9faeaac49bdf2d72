package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// listingPage holds the body of any listing: one of its slices is filled.
type listingPage struct {
	Users      []userJSON    `json:"users"`
	Events     []eventJSON   `json:"events"`
	Sessions   []sessionJSON `json:"sessions"`
	NextCursor string        `json:"next_cursor"`
}

// FuzzListingQuery sends any query string to every listing, as an
// administrator, through the whole handler and a real (SQLite) store. The
// query parameters (limit, cursor and the filters) are the one input of
// these endpoints, so: the answer is 200 or 400, never a 5xx, and always a
// JSON body; a 200 page holds at most limit items, each of which passes
// every filter asked for (a filter the store got wrong would show here);
// a limit that is not an integer from 0 to 100 is 400; and a next_cursor,
// sent back with the same query, gives 200.
func FuzzListingQuery(f *testing.F) {
	const pw = "correct horse battery staple"
	svc, tokens, db := newTestService(f, wiringtest.Embedded)
	s := newServer(svc, tokens, db, Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
	h := s.handler()
	ctx := f.Context()

	root, err := svc.CreateUser(ctx, "root@example.com", pw, []string{auth.RoleAdmin})
	if err != nil {
		f.Fatal(err)
	}
	var token string
	for range 3 { // three sessions, so that a page of one has a next
		_, pair, err := svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: pw})
		if err != nil {
			f.Fatal(err)
		}
		token = pair.AccessToken
	}
	admin, err := svc.Authenticate(ctx, token)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateRole(ctx, admin, auth.RoleInput{Name: "support"}); err != nil {
		f.Fatal(err)
	}
	// Emails that tell a prefix match from a LIKE pattern ('_' and '%' are
	// wildcards there) and from a case-insensitive one.
	for i, email := range []string{"a_b@example.com", "axb@example.com", "a%b@example.com", "ab@example.org", "zoë@example.com"} {
		u, _, err := svc.Register(ctx, auth.RegisterInput{Email: email, Password: pw})
		if err != nil {
			f.Fatal(err)
		}
		switch i {
		case 0:
			if err := svc.GrantRole(ctx, admin, u.ID, "support"); err != nil {
				f.Fatal(err)
			}
		case 1:
			disabled := auth.StatusDisabled
			if _, err := svc.UpdateUser(ctx, admin, u.ID, auth.UserPatch{Status: &disabled}); err != nil {
				f.Fatal(err)
			}
		}
	}
	svc.Login(ctx, auth.LoginInput{Email: "ab@example.org", Password: "wrong password"}) // a login.failed event

	var listings []string
	for _, rt := range s.table {
		// Listings answer 200; the social sign-in's browser steps (302)
		// read a query but list nothing.
		if rt.query == nil || rt.method != http.MethodGet || rt.status != http.StatusOK {
			continue
		}
		path := strings.ReplaceAll(rt.path, "{id}", root.ID)
		if strings.Contains(path, "{") {
			f.Fatalf("%s: fill in its path parameters here", rt.path)
		}
		listings = append(listings, path)
	}

	for _, seed := range []string{
		"", "limit=1", "limit=0", "limit=100", "limit=101", "limit=-1", "limit=+2", "limit=1e3", "limit=abc",
		"limit=99999999999999999999", "limit=1&cursor=dTo", "cursor=%ZZ", "cursor=&cursor=x",
		"email=A", "email=a_", "email=a%25", "email=ZO%C3%8B", "email=%FF", "email=a@example.", "email=" + strings.Repeat("a", 400),
		"role=admin", "role=support", "role=Not+A+Role", "status=disabled", "status=active", "status=x",
		"type=login.failed", "type=nope", "user_id=" + root.ID, "user_id=" + strings.ToUpper(root.ID), "user_id=x",
		"since=2000-01-01T00:00:00Z&until=2200-01-01T00:00:00Z", "since=2200-01-01T00:00:00Z&until=2000-01-01T00:00:00Z",
		"since=2000-01-01T00:00:00.1234567891%2B14:00", "since=yesterday", "until=0000-01-01T00:00:00%2B01:00",
		"email=a&role=support&status=active&limit=1",
		"since=9999-12-31T23:59:59-23:59", "until=9999-12-31T23:59:59-23:59",
	} {
		f.Add(seed)
	}

	get := func(t *testing.T, path, rawQuery string) (int, []byte) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.URL.RawQuery = rawQuery // not through a URL parse: any bytes at all
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("GET %s?%s: %d with a body that is not JSON: %q", path, rawQuery, w.Code, w.Body)
		}
		return w.Code, w.Body.Bytes()
	}

	f.Fuzz(func(t *testing.T, rawQuery string) {
		q := (&url.URL{RawQuery: rawQuery}).Query() // as the handlers read it
		limit, limitErr := strconv.Atoi(q.Get("limit"))
		switch {
		case q.Get("limit") == "":
			limit, limitErr = auth.DefaultPageSize, nil
		case limit == 0:
			limit = auth.DefaultPageSize
		}
		for _, path := range listings {
			status, body := get(t, path, rawQuery)
			if status == http.StatusBadRequest {
				continue
			}
			if status != http.StatusOK {
				t.Fatalf("GET %s?%s: %d %s, want 200 or 400", path, rawQuery, status, body)
			}
			if limitErr != nil || limit < 1 || limit > auth.MaxPageSize {
				t.Fatalf("GET %s?%s: 200 for limit %q", path, rawQuery, q.Get("limit"))
			}
			var page listingPage
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			if n := len(page.Users) + len(page.Events) + len(page.Sessions); n > limit {
				t.Fatalf("GET %s?%s: %d items for limit %d", path, rawQuery, n, limit)
			}
			checkUsers(t, q, page.Users)
			checkEvents(t, q, page.Events)
			if page.NextCursor != "" {
				next := url.Values{}
				for k, v := range q {
					next[k] = v
				}
				next.Set("cursor", page.NextCursor)
				if status, body := get(t, path, next.Encode()); status != http.StatusOK {
					t.Fatalf("GET %s?%s: its next_cursor gave %d %s", path, rawQuery, status, body)
				}
			}
		}
	})
}

// checkUsers fails unless every user passes the filters in q.
func checkUsers(t *testing.T, q url.Values, users []userJSON) {
	t.Helper()
	prefix := ""
	if email := q.Get("email"); email != "" && len(users) > 0 {
		var err error
		if prefix, err = auth.NormalizeEmailPrefix(email); err != nil {
			t.Fatalf("email=%q, which NormalizeEmailPrefix refuses (%v), listed users", email, err)
		}
	}
	role, status := q.Get("role"), q.Get("status")
	for _, u := range users {
		if !strings.HasPrefix(u.Email, prefix) {
			t.Errorf("email=%q (prefix %q) listed %s", q.Get("email"), prefix, u.Email)
		}
		if role != "" && !slices.Contains(u.Roles, role) {
			t.Errorf("role=%q listed %s with roles %v", role, u.Email, u.Roles)
		}
		if status != "" && u.Status != status {
			t.Errorf("status=%q listed %s, %s", status, u.Email, u.Status)
		}
	}
}

// checkEvents fails unless every event passes the filters in q. Times are
// compared at the microsecond, the precision events are stored at.
func checkEvents(t *testing.T, q url.Values, events []eventJSON) {
	t.Helper()
	bound := func(name string) time.Time {
		if q.Get(name) == "" || len(events) == 0 {
			return time.Time{}
		}
		b, err := time.Parse(time.RFC3339Nano, q.Get(name))
		if err != nil {
			t.Fatalf("%s=%q is not a time, yet events were listed", name, q.Get(name))
		}
		return b.Truncate(time.Microsecond)
	}
	since, until := bound("since"), bound("until")
	typ, userID := q.Get("type"), q.Get("user_id")
	for _, e := range events {
		if typ != "" && e.Type != typ {
			t.Errorf("type=%q listed a %s event", typ, e.Type)
		}
		if userID != "" && e.UserID != userID && e.ActorID != userID {
			t.Errorf("user_id=%q listed an event of %q by %q", userID, e.UserID, e.ActorID)
		}
		if !since.IsZero() && e.At.Before(since) {
			t.Errorf("since=%q listed an event at %s", q.Get("since"), e.At.Format(time.RFC3339Nano))
		}
		if !until.IsZero() && !e.At.Before(until) {
			t.Errorf("until=%q listed an event at %s", q.Get("until"), e.At.Format(time.RFC3339Nano))
		}
	}
}
