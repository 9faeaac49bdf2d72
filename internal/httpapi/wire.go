package httpapi

// Request and response bodies that are not specific to one file. Their
// `doc` tags end up in the OpenAPI document.

type registerRequest struct {
	Email    string `json:"email" jsonschema:"required" doc:"The account's email address; normalised (trimmed, lower-cased, NFC)."`
	Password string `json:"password" jsonschema:"required" doc:"8 to 1024 characters; common breached passwords are refused."`
	Name     string `json:"name,omitempty" doc:"Display name, at most 200 characters."`
}

type loginRequest struct {
	Email       string `json:"email" jsonschema:"required"`
	Password    string `json:"password" jsonschema:"required"`
	DeviceToken string `json:"device_token,omitempty" doc:"The device_token of an earlier sign-in to this account, if the client kept it (browsers send the cookie instead)."`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token,omitempty" doc:"Required, except in cookie mode (header X-Authd-Refresh: cookie), where the token comes from the cookie and this must be absent."`
}

type passwordCheckRequest struct {
	Password string `json:"password" jsonschema:"required" doc:"A password the caller is about to choose."`
}

type logoutRequest struct {
	RefreshToken string `json:"refresh_token,omitempty" doc:"Also ends the session of this refresh token when it is another of the caller's."`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password" doc:"Required for accounts that have a password."`
	NewPassword     string `json:"new_password" jsonschema:"required"`
}

type updateMeRequest struct {
	Name            *string `json:"name,omitempty"`
	Email           *string `json:"email,omitempty" doc:"A new address: the account moves to it once the link mailed there is followed (202); the current address gets a notice."`
	CurrentPassword string  `json:"current_password,omitempty" doc:"Required with email, for accounts that have a password."`
}

type forgotPasswordRequest struct {
	Email string `json:"email" jsonschema:"required"`
}

type resetPasswordRequest struct {
	Token       string `json:"token" jsonschema:"required" doc:"The token of the reset link (the fragment's token=)."`
	NewPassword string `json:"new_password" jsonschema:"required"`
}

type verifyEmailRequest struct {
	Token string `json:"token" jsonschema:"required" doc:"The token of the verification link (the fragment's token=)."`
}

// acceptedJSON answers a request whose effect, if any, is a mail: the
// same body whatever happened, so it tells nothing of the account.
type acceptedJSON struct {
	Message string `json:"message"`
}

type deleteMeRequest struct {
	Password string `json:"password,omitempty" doc:"Required for accounts that have a password."`
}

type sessionsQuery struct {
	Limit  int    `query:"limit" doc:"Page size, 1 to 100 (default 50)."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

type sessionsJSON struct {
	Sessions   []sessionJSON `json:"sessions" doc:"Newest first."`
	NextCursor string        `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page."`
}

type verifyJSON struct {
	UserID        string   `json:"user_id"`
	SessionID     string   `json:"session_id"`
	Roles         []string `json:"roles"`
	EmailVerified bool     `json:"email_verified"`
}

type discoveryJSON struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

// jwksJSON documents the JWKS; the handler writes the key set's own bytes.
type jwksJSON struct {
	Keys []map[string]any `json:"keys"`
}

type healthJSON struct {
	Status string `json:"status"`
}

type readyJSON struct {
	Status        string          `json:"status" doc:"ok; unavailable when the database is unreachable; shutting_down once SIGTERM is received (the replica still serves for AUTH_SHUTDOWN_DELAY, then stops accepting)"`
	SchemaVersion int64           `json:"schema_version,omitempty" doc:"the applied migration version of the database; absent when it cannot be read"`
	Checks        readyChecksJSON `json:"checks"`
}

type readyChecksJSON struct {
	Database string `json:"database" doc:"ok or unreachable"`
	Redis    string `json:"redis" doc:"ok, degraded (unreachable: the replica serves from the database) or in-process (embedded mode)"`
}
