package httpapi

import "net/http"

// Error statuses most endpoints share, for the documentation. 503 is in
// each: every API call may need the database, and answers 503 (with a
// Retry-After) while it can't be reached.
var (
	errsPublic = []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusServiceUnavailable}
	errsBearer = []int{http.StatusUnauthorized, http.StatusServiceUnavailable}
	errsAdmin  = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}
)

// cookieModeDoc describes cookie mode on the sign-in endpoints.
const cookieModeDoc = "In cookie mode (request header X-Authd-Refresh: cookie, accepted only from authd's own origin) the refresh token is set " +
	"as an HttpOnly cookie instead of returned in the body: the hosted pages keep no token where a script can read it. " +
	"A cookie-mode request from another origin is 403 csrf_failed."

func with(base []int, more ...int) []int { return append(append([]int(nil), base...), more...) }

// routeTable lists every endpoint; this is the one place to find them. The
// mux and the OpenAPI document are both built from it.
func (s *server) routeTable() []route {
	return []route{
		// API v1: accounts and sessions.
		{method: "POST", path: "/api/v1/auth/register", tag: "auth", summary: "Create an account and sign in",
			doc:  cookieModeDoc,
			body: registerRequest{}, status: 201, response: tokensJSON{},
			headers: map[string]string{"Set-Cookie": refreshCookieDoc},
			errors:  with(errsPublic, 403, 409, 429), serve: s.register},
		{method: "POST", path: "/api/v1/auth/login", tag: "auth", summary: "Sign in with email and password",
			doc:  cookieModeDoc,
			body: loginRequest{}, status: 200, response: tokensJSON{},
			headers: map[string]string{"Set-Cookie": deviceCookieDoc + " In cookie mode also: " + refreshCookieDoc},
			errors:  with(errsPublic, 401, 403, 429), serve: s.login},
		{method: "POST", path: "/api/v1/auth/refresh", tag: "auth", summary: "Exchange a refresh token for a new token pair",
			doc: "In cookie mode (request header X-Authd-Refresh: cookie, from authd's own origin only) the token comes from the refresh cookie, " +
				"the body may be empty, and the new token is set in the cookie; an ended session also clears the cookie. " +
				"A request that carries the refresh cookie without the header (a cross-site form) is 403 csrf_failed.",
			body: refreshRequest{}, optional: true, status: 200, response: tokensJSON{},
			headers: map[string]string{"Set-Cookie": refreshCookieDoc},
			errors:  with(errsPublic, 401, 403, 429), serve: s.refresh},
		{method: "POST", path: "/api/v1/auth/logout", tag: "auth", summary: "End the current session",
			doc:    "In cookie mode (X-Authd-Refresh: cookie) also clears the refresh cookie.",
			access: bearer, body: logoutRequest{}, optional: true, status: 204,
			errors: with(errsPublic, 401, 403), serve: s.authed(s.logout)},
		{method: "POST", path: "/api/v1/auth/logout-all", tag: "auth", summary: "End every session of the caller",
			doc:    "In cookie mode (X-Authd-Refresh: cookie) also clears the refresh cookie.",
			access: bearer, status: 204, errors: with(errsBearer, 403), serve: s.authed(s.logoutAll)},
		{method: "POST", path: "/api/v1/auth/logout-others", tag: "auth", summary: "End every session of the caller but the current one",
			access: bearer, status: 204, errors: errsBearer, serve: s.authed(s.logoutOthers)},
		{method: "GET", path: "/api/v1/auth/sessions", tag: "auth", summary: "List the caller's active sessions, newest first, in pages",
			access: bearer, query: sessionsQuery{}, status: 200, response: sessionsJSON{},
			errors: with(errsBearer, 400), serve: s.authed(s.listSessions)},
		{method: "DELETE", path: "/api/v1/auth/sessions/{id}", tag: "auth", summary: "End one of the caller's sessions",
			access: bearer, status: 204, errors: with(errsBearer, 404), serve: s.authed(s.revokeSession)},
		{method: "POST", path: "/api/v1/auth/password/change", tag: "auth", summary: "Change the password; ends the other sessions",
			access: bearer, body: changePasswordRequest{}, status: 204,
			errors: with(errsPublic, 401, 409, 429), serve: s.authed(s.changePassword)},
		{method: "POST", path: "/api/v1/auth/password/check", tag: "auth", summary: "Whether a password would be accepted (length, common and breached passwords)",
			doc:  "For a form's live guidance: 200 with acceptable false and the reason when the policy refuses it. Says nothing about any account.",
			body: passwordCheckRequest{}, status: 200, response: passwordCheckJSON{},
			errors: errsPublic, serve: s.passwordCheck},
		{method: "POST", path: "/api/v1/auth/password/forgot", tag: "auth", summary: "Mail a password reset link, if an account has the address",
			body: forgotPasswordRequest{}, status: 202, response: acceptedJSON{},
			errors: with(errsPublic, 429), serve: s.forgotPassword},
		{method: "POST", path: "/api/v1/auth/password/reset", tag: "auth", summary: "Set a new password with a reset link's token; ends every session",
			body: resetPasswordRequest{}, status: 204, errors: errsPublic, serve: s.resetPassword},
		{method: "POST", path: "/api/v1/auth/email/verify", tag: "auth", summary: "Verify an address (or complete an email change) with a mailed link's token",
			body: verifyEmailRequest{}, status: 204, errors: with(errsPublic, 409), serve: s.verifyEmail},
		{method: "POST", path: "/api/v1/auth/email/resend", tag: "auth", summary: "Mail a new verification link to the caller's unverified address",
			access: bearer, status: 202, response: acceptedJSON{},
			errors: with(errsBearer, 429), serve: s.authed(s.resendVerification)},
		{method: "GET", path: "/api/v1/auth/verify", tag: "auth", summary: "Forward authentication for gateways",
			access: bearer, status: 200, response: verifyJSON{}, errors: errsBearer, serve: s.authed(s.verify),
			headers: map[string]string{
				"X-Auth-User-Id":        "The user's id, for the upstream service.",
				"X-Auth-Session-Id":     "The session's id.",
				"X-Auth-Roles":          "The user's current roles, comma-separated.",
				"X-Auth-Email-Verified": "true or false.",
			}},

		// API v1: social sign-in (SPEC §6/§7). The browser steps (start,
		// callback) answer redirects; the app then trades the one-time code.
		{method: "GET", path: "/api/v1/oauth/providers", tag: "social", summary: "List the enabled social sign-in providers",
			status: 200, response: providersJSON{}, errors: []int{503}, serve: s.socialProviders},
		{method: "GET", path: "/api/v1/oauth/{provider}/start", tag: "social", summary: "Start a social sign-in: redirects the browser to the provider",
			doc: "For a browser to follow, not for fetch. Answers 302 to the provider's authorization page and sets the browser-binding cookie. " +
				"Once redirect_to is known to be allowed, a failure is a 302 to redirect_to?error=E instead (provider_unavailable, provider_error). " +
				"Errors with nowhere safe to send the browser are JSON: 404 for a provider that is not enabled, 400 for a redirect_to " +
				"that is not allowed or a malformed code_challenge.",
			query: socialStartQuery{}, status: 302,
			headers: map[string]string{
				"Location":   "The provider's authorization page, or redirect_to?error=E when the sign-in could not start.",
				"Set-Cookie": socialCookieDoc,
			},
			errors: []int{400, 404, 503}, serve: s.socialStart},
		{method: "GET", path: "/api/v1/oauth/{provider}/callback", tag: "social", summary: "Where the provider sends the browser back; redirects it to the app with a one-time code",
			doc: "Answers 302 to redirect_to?code=C, C being a one-time code for POST /api/v1/oauth/exchange (or the token endpoint's " +
				"authorization_code grant), or to redirect_to?error=E with E one of access_denied, provider_error, provider_unavailable, " +
				"invalid_state (expired, or not started by this browser), email_not_verified, account_disabled. It clears the browser-binding cookie. " +
				"A state that names no sign-in leaves nowhere safe to go: the answer is then a 400 text/html page with a fixed sentence " +
				"(the person is in a browser), not a JSON error.",
			query: socialCallbackQuery{}, status: 302,
			headers: map[string]string{
				"Location":   "redirect_to?code=C (redirect_to?linked=<provider> ending a link), or redirect_to?error=E.",
				"Set-Cookie": "Clears the social sign-in's browser-binding cookie (Max-Age=-1).",
			},
			errors: []int{503}, pages: []int{400}, serve: s.socialCallback},
		{method: "POST", path: "/api/v1/oauth/exchange", tag: "social", summary: "Trade a social sign-in's one-time code for tokens",
			doc: "The code is spent by the first attempt, right or wrong. A bad, used or expired code, or a code_verifier that does not match, is 400 invalid_token. " +
				cookieModeDoc,
			body: socialExchangeRequest{}, status: 200, response: tokensJSON{},
			headers: map[string]string{"Set-Cookie": refreshCookieDoc},
			errors:  with(errsPublic, 403), serve: s.socialExchange},
		{method: "POST", path: "/api/v1/oauth/{provider}/link", tag: "social", summary: "Start linking an account at the provider to the caller's account",
			doc: "For the signed-in user's page, with fetch (same-origin): answers 200 {location} and sets the browser-binding cookie; the page then " +
				"sends the browser to location. The provider sends it back to the callback, which links the account there (found again by its subject; " +
				"its address need not match nor be verified) and answers 302 to redirect_to?linked=<provider>, or to redirect_to?error=E with E one of " +
				"identity_in_use (linked to another user), already_linked (the caller has another account at this provider), access_denied, " +
				"provider_error, provider_unavailable, invalid_state (expired, not this browser, or the account was deleted), account_disabled, " +
				"email_not_verified (the provider gave no address at all). No code or token is issued, and the account's email stays as it is. " +
				"404 for a provider that is not enabled, 400 for a redirect_to that is not allowed.",
			access: bearer, body: socialLinkRequest{}, status: 200, response: socialLinkJSON{},
			headers: map[string]string{"Set-Cookie": socialCookieDoc},
			errors:  with(errsPublic, 401, 404), serve: s.authed(s.socialLink)},
		{method: "GET", path: "/api/v1/oauth/identities", tag: "social", summary: "List the caller's linked social accounts",
			access: bearer, status: 200, response: identitiesJSON{}, errors: errsBearer, serve: s.authed(s.listIdentities)},
		{method: "DELETE", path: "/api/v1/oauth/identities/{provider}", tag: "social", summary: "Unlink one of the caller's social accounts",
			doc:    "409 last_sign_in_method when it is the account's last way to sign in (no password, no other linked account).",
			access: bearer, status: 204, errors: with(errsBearer, 404, 409), serve: s.authed(s.unlinkIdentity)},

		// API v1: the caller's own account.
		{method: "GET", path: "/api/v1/users/me", tag: "users", summary: "The caller's account",
			access: bearer, status: 200, response: userJSON{}, errors: errsBearer, serve: s.authed(s.me)},
		{method: "PATCH", path: "/api/v1/users/me", tag: "users", summary: "Edit the caller's profile; a new email is mailed a link first (202)",
			access: bearer, body: updateMeRequest{}, status: 200, response: userJSON{}, also: []int{202},
			errors: with(errsPublic, 401, 409, 429), serve: s.authed(s.updateMe)},
		{method: "GET", path: "/api/v1/users/me/permissions", tag: "users", summary: "The caller's current permissions",
			doc:    "What the caller's roles grant now, for a console to show only what may be done; every endpoint still checks.",
			access: bearer, status: 200, response: permissionsJSON{}, errors: errsBearer, serve: s.authed(s.myPermissions)},
		{method: "DELETE", path: "/api/v1/users/me", tag: "users", summary: "Delete the caller's account",
			doc:    "In cookie mode (X-Authd-Refresh: cookie) also clears the refresh cookie.",
			access: bearer, body: deleteMeRequest{}, optional: true, status: 204,
			errors: with(errsPublic, 401, 409, 429), serve: s.authed(s.deleteMe)},

		// API v1: administration.
		{method: "GET", path: "/api/v1/users", tag: "admin", summary: "List users",
			access: bearer, perm: "users:read", query: usersQuery{}, status: 200, response: usersPageJSON{},
			errors: errsAdmin, serve: s.authed(s.listUsers)},
		{method: "GET", path: "/api/v1/users/{id}", tag: "admin", summary: "Get a user",
			access: bearer, perm: "users:read", status: 200, response: userJSON{},
			errors: with(errsAdmin, 404), serve: s.authed(s.getUser)},
		{method: "PATCH", path: "/api/v1/users/{id}", tag: "admin", summary: "Edit, disable or enable a user",
			access: bearer, perm: "users:write", body: adminUserPatch{}, status: 200, response: userJSON{},
			errors: with(errsAdmin, 404, 409, 413, 415), serve: s.authed(s.patchUser)},
		{method: "DELETE", path: "/api/v1/users/{id}", tag: "admin", summary: "Delete a user",
			access: bearer, perm: "users:write", status: 204,
			errors: with(errsAdmin, 404, 409), serve: s.authed(s.deleteUser)},
		{method: "PUT", path: "/api/v1/users/{id}/roles/{role}", tag: "admin", summary: "Grant a role",
			access: bearer, perm: "roles:manage", status: 204,
			errors: with(errsAdmin, 404), serve: s.authed(s.grantRole)},
		{method: "DELETE", path: "/api/v1/users/{id}/roles/{role}", tag: "admin", summary: "Revoke a role",
			access: bearer, perm: "roles:manage", status: 204,
			errors: with(errsAdmin, 404, 409), serve: s.authed(s.revokeRole)},
		{method: "GET", path: "/api/v1/users/{id}/sessions", tag: "admin", summary: "List a user's active sessions, newest first, in pages",
			access: bearer, perm: "sessions:manage", query: sessionsQuery{}, status: 200, response: sessionsJSON{},
			errors: with(errsAdmin, 404), serve: s.authed(s.userSessions)},
		{method: "DELETE", path: "/api/v1/users/{id}/sessions/{sid}", tag: "admin", summary: "End a user's session",
			access: bearer, perm: "sessions:manage", status: 204,
			errors: with(errsAdmin, 404), serve: s.authed(s.revokeUserSession)},
		{method: "GET", path: "/api/v1/roles", tag: "admin", summary: "List roles",
			access: bearer, perm: "roles:manage", status: 200, response: rolesJSON{},
			errors: errsAdmin, serve: s.authed(s.listRoles)},
		{method: "POST", path: "/api/v1/roles", tag: "admin", summary: "Create a role",
			access: bearer, perm: "roles:manage", body: roleRequest{}, status: 201, response: roleJSON{},
			errors: with(errsAdmin, 409, 413, 415), serve: s.authed(s.createRole)},
		{method: "GET", path: "/api/v1/roles/{name}", tag: "admin", summary: "Get a role",
			access: bearer, perm: "roles:manage", status: 200, response: roleJSON{},
			errors: with(errsAdmin, 404), serve: s.authed(s.getRole)},
		{method: "PATCH", path: "/api/v1/roles/{name}", tag: "admin", summary: "Edit a role's description or permissions",
			access: bearer, perm: "roles:manage", body: rolePatchRequest{}, status: 200, response: roleJSON{},
			errors: with(errsAdmin, 404, 409, 413, 415), serve: s.authed(s.patchRole)},
		{method: "DELETE", path: "/api/v1/roles/{name}", tag: "admin", summary: "Delete a role and take it from every holder",
			access: bearer, perm: "roles:manage", status: 204,
			errors: with(errsAdmin, 404, 409), serve: s.authed(s.deleteRole)},
		{method: "GET", path: "/api/v1/audit", tag: "admin", summary: "List audit events, newest first",
			access: bearer, perm: "audit:read", query: auditQuery{}, status: 200, response: auditPageJSON{},
			errors: errsAdmin, serve: s.authed(s.listAudit)},

		// API v2: standards-shaped.
		{method: "POST", path: "/api/v2/oauth/token", tag: "oauth", summary: "Token endpoint (RFC 6749): authorization_code (a social sign-in's code), password, refresh_token and client_credentials grants",
			access: optionalClient, body: tokenRequest{}, form: true, status: 200, response: oauthTokenJSON{}, style: errorsOAuth,
			headers: map[string]string{"Set-Cookie": deviceCookieDoc},
			errors:  []int{400, 401, 413, 415, 429, 503}, serve: s.token},
		{method: "POST", path: "/api/v2/oauth/introspect", tag: "oauth", summary: "Token introspection (RFC 7662)",
			access: client, body: introspectRequest{}, form: true, status: 200, response: introspectionJSON{}, style: errorsOAuth,
			errors: []int{400, 401, 413, 415, 429, 503}, serve: s.introspect},
		{method: "POST", path: "/api/v2/oauth/revoke", tag: "oauth", summary: "Token revocation (RFC 7009)",
			access: client, body: revokeRequest{}, form: true, status: 200, style: errorsOAuth,
			errors: []int{400, 401, 403, 413, 415, 429, 503}, serve: s.revoke},
		{method: "POST", path: "/api/v2/clients", tag: "clients", summary: "Register a service client; the secret is shown once",
			access: bearer, perm: "clients:manage", body: clientRequest{}, status: 201, response: createdClientJSON{},
			style: errorsProblem, errors: with(errsAdmin, 413, 415), serve: s.authed(s.createClient)},
		{method: "GET", path: "/api/v2/clients", tag: "clients", summary: "List service clients",
			access: bearer, perm: "clients:manage", status: 200, response: clientsJSON{},
			style: errorsProblem, errors: errsAdmin, serve: s.authed(s.listClients)},
		{method: "DELETE", path: "/api/v2/clients/{id}", tag: "clients", summary: "Delete a service client",
			access: bearer, perm: "clients:manage", status: 204,
			style: errorsProblem, errors: with(errsAdmin, 404), serve: s.authed(s.deleteClient)},
		{method: "GET", path: "/api/v2/users", tag: "admin", summary: "List users (problem+json errors)",
			access: bearer, perm: "users:read", query: usersQuery{}, status: 200, response: usersPageJSON{},
			style: errorsProblem, errors: errsAdmin, serve: s.authed(s.listUsers)},
		{method: "GET", path: "/api/v2/audit", tag: "admin", summary: "List audit events (problem+json errors)",
			access: bearer, perm: "audit:read", query: auditQuery{}, status: 200, response: auditPageJSON{},
			style: errorsProblem, errors: errsAdmin, serve: s.authed(s.listAudit)},

		// Well-known documents and operations.
		{method: "GET", path: "/.well-known/jwks.json", tag: "discovery", summary: "The public signing keys (JWKS)",
			status: 200, response: jwksJSON{}, content: "application/jwk-set+json", serve: s.jwks},
		{method: "GET", path: "/.well-known/openid-configuration", tag: "discovery", summary: "Discovery document",
			status: 200, response: discoveryJSON{}, serve: s.openIDConfiguration},
		{method: "GET", path: "/openapi.json", tag: "discovery", summary: "This OpenAPI 3.1 document",
			status: 200, response: map[string]any{}, serve: s.openAPIDocument},
		{method: "GET", path: "/docs", tag: "discovery", summary: "Interactive API documentation",
			status: 200, content: "text/html", serve: s.docsPage},
		{method: "GET", path: "/docs/assets/{file}", tag: "discovery", summary: "A file of the documentation page (Swagger UI and its licences)",
			status: 200, content: "*/*", errors: []int{404}, serve: s.docsAsset},
		{method: "GET", path: "/ui/", tag: "pages", summary: "The hosted pages: sign in, sign up, password reset, email verification, account and the admin console",
			doc: "Each page answers with and without its trailing slash (/ui/sign-up, /ui/account/, …); /ui/config.json is the run-time branding " +
				"(AUTH_UI_*). 404 when AUTH_UI_ENABLED is false.",
			status: 200, content: "text/html", errors: []int{404}, serve: s.servePages},
		{method: "GET", path: "/healthz", tag: "operations", summary: "Liveness: the process is up",
			status: 200, response: healthJSON{}, serve: s.healthz},
		{method: "GET", path: "/readyz", tag: "operations", summary: "Readiness and the state of each dependency",
			status: 200, response: readyJSON{}, also: []int{503}, serve: s.readyz},
		{method: "GET", path: "/metrics", tag: "operations", summary: "Prometheus metrics",
			status: 200, content: "text/plain", errors: []int{404}, serve: s.serveMetrics},
	}
}

// routes registers every route of the table on the mux.
func (s *server) routes() {
	s.table = s.routeTable()
	for i := range s.table {
		s.handleRoute(&s.table[i])
	}
}
