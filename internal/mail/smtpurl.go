package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Default ports of the two schemes. smtp:// defaults to 587, the message
// submission port (RFC 6409) that providers offer to applications with
// STARTTLS and AUTH, rather than 25, the relay port that many networks block
// outbound; smtps:// defaults to 465, submission over implicit TLS (RFC 8314).
const (
	DefaultSMTPPort  = 587
	DefaultSMTPSPort = 465
)

// tlsMode is how a connection is secured; it is what the URL forms choose.
type tlsMode int

const (
	startTLSOpportunistic tlsMode = iota // smtp://
	startTLSRequired                     // smtp://…?starttls=required
	implicitTLS                          // smtps://
)

// smtpURL is AUTH_SMTP_URL taken apart.
type smtpURL struct {
	host     string
	port     int
	mode     tlsMode
	user     string
	password string
}

// parseSMTPURL parses the forms doc.go lists. Its errors name the part at
// fault but never quote the host, the port or the user information: a
// password containing an unencoded '/', '?' or '#' ends the authority early,
// so any of those could hold a piece of it.
func parseSMTPURL(raw string) (*smtpURL, error) {
	if raw == "" {
		return nil, errors.New("mail: empty SMTP URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, and its inner errors quote the
		// bad port or escape.
		return nil, errors.New("mail: SMTP URL does not parse (percent-encode any of @ : / ? # % in the user name and password)")
	}
	s := &smtpURL{}
	switch u.Scheme {
	case "smtp":
		s.port = DefaultSMTPPort
	case "smtps":
		s.mode, s.port = implicitTLS, DefaultSMTPSPort
	case "":
		return nil, errors.New("mail: SMTP URL has no scheme (want smtp:// or smtps://)")
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q is not smtp or smtps", u.Scheme)
	}
	switch {
	case u.Opaque != "":
		return nil, errors.New("mail: SMTP URL has no host (want smtp://host:port)")
	case u.Path != "" && u.Path != "/":
		return nil, errors.New("mail: SMTP URL has a path; only smtp[s]://[user:password@]host[:port][?starttls=required] is understood")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return nil, errors.New("mail: SMTP URL has a fragment (#…); percent-encode '#' in the password as %23")
	}

	s.host = u.Hostname()
	switch {
	case s.host == "":
		return nil, errors.New("mail: SMTP URL has no host")
	case strings.Contains(s.host, ":"):
		// go-mail joins host and port as "%s:%d", which an IPv6 literal
		// breaks.
		return nil, errors.New("mail: SMTP URL host is an IPv6 literal, which is not supported; use a host name")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("mail: SMTP URL port is not a number from 1 to 65535")
		}
		s.port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("mail: SMTP URL has an empty port")
	}

	if u.User != nil {
		s.user = u.User.Username()
		pass, ok := u.User.Password()
		if s.user == "" || !ok || pass == "" {
			return nil, errors.New("mail: SMTP URL user information needs both a user name and a password (user:password@host)")
		}
		s.password = pass
	}

	if err := s.parseQuery(u.RawQuery, u.ForceQuery); err != nil {
		return nil, err
	}
	return s, nil
}

// parseQuery takes the one parameter there is, starttls=required.
func (s *smtpURL) parseQuery(raw string, force bool) error {
	switch {
	case raw == "" && force:
		return errors.New("mail: SMTP URL has an empty query")
	case raw == "":
		return nil
	case strings.Contains(raw, "@"):
		// What follows an unencoded '?' in a password, so not quoted.
		return errors.New("mail: SMTP URL query contains '@'; percent-encode '?' in the password as %3F")
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("mail: SMTP URL query does not parse")
	}
	for k, vs := range q {
		if k != "starttls" {
			return fmt.Errorf("mail: SMTP URL query parameter %q is unknown (only starttls=required is)", k)
		}
		if len(vs) != 1 {
			return errors.New("mail: SMTP URL query parameter starttls is given more than once")
		}
		if vs[0] != "required" {
			return fmt.Errorf("mail: SMTP URL starttls=%q is not understood (only starttls=required is)", vs[0])
		}
		if s.mode == implicitTLS {
			return errors.New("mail: SMTP URL starttls=required does not apply to smtps://, which is TLS from the start")
		}
		s.mode = startTLSRequired
	}
	return nil
}

// String returns the URL with the password replaced by "xxxxx".
func (s *smtpURL) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(s.host, strconv.Itoa(s.port))}
	switch s.mode {
	case implicitTLS:
		u.Scheme = "smtps"
	case startTLSRequired:
		u.RawQuery = "starttls=required"
	}
	if s.user != "" {
		u.User = url.UserPassword(s.user, "xxxxx")
	}
	return u.String()
}

// CheckSMTPURL reports whether rawURL is an AUTH_SMTP_URL NewSMTP accepts,
// with an error that names the part at fault without quoting the URL.
func CheckSMTPURL(rawURL string) error {
	_, err := parseSMTPURL(rawURL)
	return err
}
