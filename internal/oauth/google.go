package oauth

import "context"

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// NewGoogle returns Google as an OIDC provider: cfg with Name "google",
// Issuer GoogleIssuer (whatever cfg says), DisplayName "Google" and the
// DefaultScopes unless cfg sets them. Google's ID tokens carry email and
// email_verified (a boolean) for the email scope; go-oidc accepts the
// issuer Google sometimes writes without its scheme, "accounts.google.com".
func NewGoogle(ctx context.Context, cfg Config) (*OIDC, error) {
	cfg.Name = "google"
	cfg.Issuer = GoogleIssuer
	if cfg.DisplayName == "" {
		cfg.DisplayName = "Google"
	}
	return NewOIDC(ctx, cfg)
}
