package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/mail"
)

func TestNewSMTPAcceptsTheURLForms(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"smtp://mail.example.com", "smtp://mail.example.com:587"},
		{"smtp://mail.example.com/", "smtp://mail.example.com:587"},
		{"smtp://mail.example.com:25", "smtp://mail.example.com:25"},
		{"SMTP://mail.example.com:2525", "smtp://mail.example.com:2525"},
		{"smtp://mail.example.com?starttls=required", "smtp://mail.example.com:587?starttls=required"},
		{"smtps://mail.example.com", "smtps://mail.example.com:465"},
		{"smtps://mail.example.com:4650", "smtps://mail.example.com:4650"},
		{"smtp://mailer:hunter2-secret@mail.example.com:587", "smtp://mailer:xxxxx@mail.example.com:587"},
		{"smtps://mailer%40example.com:p%40ss%3Aw%2Frd%3F@mail.example.com", "smtps://mailer%40example.com:xxxxx@mail.example.com:465"},
		{"smtp://127.0.0.1:1025", "smtp://127.0.0.1:1025"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			s, err := mail.NewSMTP(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// secret is the password in every refused URL below: no error may contain
// it, nor any piece of it that a misplaced delimiter cut off.
const secret = "hunter2-secret"

func TestNewSMTPRefusesBadURLs(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"empty", "", "empty"},
		{"no scheme", "mailer:" + secret + "@mail.example.com", `"mailer" is not smtp`},
		{"bare host", "mail.example.com:587", "scheme"},
		{"http scheme", "http://mailer:" + secret + "@mail.example.com", `"http" is not smtp`},
		{"smtp+tls scheme", "smtp+tls://mail.example.com", `"smtp+tls"`},
		{"no host", "smtp://mailer:" + secret + "@:587", "no host"},
		{"port zero", "smtp://mailer:" + secret + "@mail.example.com:0", "port"},
		{"port too big", "smtp://mailer:" + secret + "@mail.example.com:65536", "port"},
		{"port not a number", "smtp://mailer:" + secret + "@mail.example.com:smtp", "does not parse"},
		{"empty port", "smtp://mailer:" + secret + "@mail.example.com:", "empty port"},
		{"IPv6 literal", "smtp://[::1]:25", "IPv6"},
		{"path", "smtp://mailer:" + secret + "@mail.example.com/relay", "path"},
		{"fragment", "smtp://mailer:" + secret + "@mail.example.com#x", "fragment"},
		{"unknown parameter", "smtp://mailer:" + secret + "@mail.example.com?tls=on", `"tls" is unknown`},
		{"unknown starttls value", "smtp://mail.example.com?starttls=maybe", `starttls="maybe"`},
		{"starttls repeated", "smtp://mail.example.com?starttls=required&starttls=required", "more than once"},
		{"starttls with smtps", "smtps://mail.example.com?starttls=required", "smtps"},
		{"empty query", "smtp://mail.example.com?", "empty query"},
		{"user without password", "smtp://mailer@mail.example.com", "password"},
		{"empty password", "smtp://mailer:@mail.example.com", "password"},
		{"password without user", "smtp://:" + secret + "@mail.example.com", "user name"},
		{"unencoded / in password", "smtp://mailer:" + strings.Replace(secret, "-", "/", 1) + "@mail.example.com", ""},
		{"unencoded ? in password", "smtp://mailer:" + strings.Replace(secret, "-", "?", 1) + "@mail.example.com", ""},
		{"unencoded # in password", "smtp://mailer:" + strings.Replace(secret, "-", "#", 1) + "@mail.example.com", ""},
		{"digits then ? in password", "smtp://mailer:2024?" + secret + "@mail.example.com", ""},
		{"digits then / in password", "smtp://mailer:2024/" + secret + "@mail.example.com", ""},
		{"bad escape in password", "smtp://mailer:" + secret + "%zz@mail.example.com", "does not parse"},
		{"space in password", "smtp://mailer:hunter2 secret@mail.example.com", "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mail.NewSMTP(tc.url)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			for _, piece := range []string{secret, "hunter2", "secret", "2024"} {
				if strings.Contains(msg, piece) {
					t.Errorf("error %q shows %q of the password", msg, piece)
				}
			}
		})
	}
}

func TestNewSMTPRefusesANonPositiveTimeout(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := mail.NewSMTP("smtp://mail.example.com", mail.WithTimeout(d)); err == nil {
			t.Errorf("timeout %v accepted", d)
		}
	}
}
