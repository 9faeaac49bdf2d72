package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// Bad input on the admin endpoints gets a clear 4xx and changes nothing.
func TestAdminInputScenarios(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		adm := f.login(t, "root@example.com").access
		u := f.register(t, "ada@example.com")
		user := "/api/v1/users/" + u.userID
		big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`
		longRole := strings.Repeat("r", 65)
		scopes := make([]string, 33)
		for i := range scopes {
			scopes[i] = fmt.Sprintf(`"s%d"`, i)
		}
		f.run(t, []scenario{
			{name: "patch: malformed json", method: patch, path: user, token: adm, body: `{"name":`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: trailing data", method: patch, path: user, token: adm, body: `{"name":"a"} {}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: wrong type", method: patch, path: user, token: adm, body: `{"status":5}`, wantStatus: 400, wantCode: "invalid_request", wantIn: []string{`\"status\"`}},
			{name: "patch: unknown status", method: patch, path: user, token: adm, body: `{"status":"sleeping"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: control character", method: patch, path: user, token: adm, body: `{"name":"a\u0000b"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: bidi override", method: patch, path: user, token: adm, body: `{"name":"a\u202eb"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: overlong name", method: patch, path: user, token: adm, body: `{"name":"` + strings.Repeat("é", 201) + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch: huge body", method: patch, path: user, token: adm, body: big, wantStatus: 413, wantCode: "payload_too_large"},
			{name: "patch: not json", method: patch, path: user, token: adm, contentType: "text/plain", body: `name=x`, wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "patch: malformed id", method: patch, path: "/api/v1/users/not-a-uuid", token: adm, body: `{"name":"x"}`, wantStatus: 404, wantCode: "not_found"},
			{name: "patch: unchanged after all that", method: get, path: user, token: adm, wantStatus: 200, wantIn: []string{`"name":""`, `"status":"active"`}},

			{name: "role: upper case", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"Editors"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: homoglyph", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"аdmin"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: empty", method: post, path: "/api/v1/roles", token: adm, body: `{"name":""}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: overlong", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"` + longRole + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: unknown permission", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"ed","permissions":["users:read","users:*"]}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: permissions not a list", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"ed","permissions":"users:read"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "role: taken", method: post, path: "/api/v1/roles", token: adm, body: `{"name":"admin"}`, wantStatus: 409, wantCode: "conflict"},
			{name: "grant: unknown role", method: "PUT", path: user + "/roles/wizard", token: adm, wantStatus: 404, wantCode: "not_found"},
			{name: "grant: malformed role", method: "PUT", path: user + "/roles/%00", token: adm, wantStatus: 404, wantCode: "not_found"},
			{name: "grant: unknown user", method: "PUT", path: "/api/v1/users/0190c0de-0000-7000-8000-000000000000/roles/user", token: adm, wantStatus: 404, wantCode: "not_found"},
			{name: "revoke: the last admin", method: del, path: "/api/v1/users/" + f.login(t, "root@example.com").userID + "/roles/admin", token: adm, wantStatus: 409, wantCode: "last_admin"},

			{name: "list: limit not a number", method: get, path: "/api/v1/users?limit=ten", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "list: limit too big", method: get, path: "/api/v1/users?limit=101", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "list: forged cursor", method: get, path: "/api/v1/users?cursor=dTpub3QtYW4taWQ", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "list: NUL in prefix", method: get, path: "/api/v1/users?email=a%00", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "list: prefix is case-insensitive", method: get, path: "/api/v1/users?email=ADA", token: adm, wantStatus: 200, wantIn: []string{`"email":"ada@example.com"`}},
			{name: "audit: bad time", method: get, path: "/api/v1/audit?since=yesterday", token: adm, wantStatus: 400, wantCode: "invalid_request"},
			{name: "audit: bad user", method: get, path: "/api/v1/audit?user_id=42", token: adm, wantStatus: 400, wantCode: "invalid_request"},

			{name: "client: no name", method: post, path: "/api/v2/clients", token: adm, body: `{"scopes":["a"]}`, wantStatus: 400},
			{name: "client: scope with a space", method: post, path: "/api/v2/clients", token: adm, body: `{"name":"x","scopes":["a b"]}`, wantStatus: 400},
			{name: "client: too many scopes", method: post, path: "/api/v2/clients", token: adm, body: `{"name":"x","scopes":[` + strings.Join(scopes, ",") + `]}`, wantStatus: 400},
			{name: "client: none was created", method: get, path: "/api/v2/clients", token: adm, wantStatus: 200, wantIn: []string{`{"clients":[]}`}},
		})
		res := f.do(t, get, "/api/v1/roles", adm, "", nil)
		if got := strings.Count(string(res.body), `"name":`); got != 2 {
			t.Errorf("the refused creations left roles behind: %s", res.body)
		}
	})
}

// TestConcurrentRoleCreation: of many identical creations at once, exactly
// one succeeds and the rest get 409.
func TestConcurrentRoleCreation(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		adm := f.login(t, "root@example.com").access
		var wg sync.WaitGroup
		responses := make([]response, 10)
		for i := range responses {
			wg.Go(func() {
				responses[i] = f.send(http.MethodPost, "/api/v1/roles", "Bearer "+adm, "application/json", strings.NewReader(`{"name":"editors","permissions":["users:read"]}`))
			})
		}
		wg.Wait()
		statuses := map[int]int{}
		for _, res := range responses {
			checkInvariants(t, http.MethodPost, "/api/v1/roles", res)
			statuses[res.status]++
		}
		if statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != 9 {
			t.Fatalf("statuses %v, want one 201 and nine 409", statuses)
		}
	})
}

// A role manager can't widen the default role: that would hand its powers to
// every account, fresh sign-ups included (self-grant by proxy).
func TestRoleManagerCantWidenDefaultRole(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		adm := f.login(t, "root@example.com").access
		if res := f.post(t, "/api/v1/roles", adm, `{"name":"role-manager","permissions":["roles:manage"]}`); res.status != http.StatusCreated {
			t.Fatalf("create role: %d %s", res.status, res.body)
		}
		rm := f.register(t, "rm@example.com")
		if res := f.do(t, http.MethodPut, "/api/v1/users/"+rm.userID+"/roles/role-manager", adm, "", nil); res.status != http.StatusNoContent {
			t.Fatalf("grant: %d %s", res.status, res.body)
		}

		res := f.do(t, http.MethodPatch, "/api/v1/roles/user", rm.access, "application/json",
			strings.NewReader(`{"permissions":["roles:manage"]}`))
		if res.status != http.StatusForbidden || res.errorCode(t) != string(auth.EForbidden) {
			t.Errorf("role manager widens the default role: %d %s, want 403 forbidden", res.status, res.body)
		}
		fresh := f.register(t, "fresh@example.com")
		if res := f.do(t, http.MethodGet, "/api/v1/roles", fresh.access, "", nil); res.status != http.StatusForbidden {
			t.Errorf("a fresh sign-up lists roles: %d %s, want 403", res.status, res.body)
		}
	})
}
