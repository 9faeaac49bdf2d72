package mail

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Paths of the UI pages that take a token from mail.
const (
	VerifyEmailPath   = "verify-email"
	ResetPasswordPath = "reset-password"
)

// Link returns uiURL/path#token=<token>, the link a mail carries. The token
// goes in the fragment, which browsers never send to a server, so it reaches
// no access log and no Referer header; it is query-escaped there, and the
// page reads it back with URLSearchParams.
//
// uiURL is AUTH_UI_URL, never a request's Host header (which whoever sends
// the request chooses, and would make authd mail a token to their server):
// an absolute http or https URL, possibly with a path, without a query or a
// fragment; a trailing slash is allowed. path is a relative path such as
// VerifyEmailPath.
func Link(uiURL, path, token string) (string, error) {
	u, err := url.Parse(uiURL)
	switch {
	case err != nil:
		return "", fmt.Errorf("mail: UI URL %q: %w", uiURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("mail: UI URL %q is not an absolute http or https URL", uiURL)
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("mail: UI URL %q has no host", uiURL)
	case u.User != nil:
		return "", fmt.Errorf("mail: UI URL %q has user information", uiURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(uiURL, "#"):
		return "", fmt.Errorf("mail: UI URL %q has a query or a fragment", uiURL)
	}
	if path == "" || strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#% \t\r\n") {
		return "", fmt.Errorf("mail: link path %q is not a plain relative path", path)
	}
	if token == "" {
		return "", errors.New("mail: link without a token")
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + path + "#token=" + url.QueryEscape(token), nil
}
