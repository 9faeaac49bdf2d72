package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/mail"
)

// dataFor returns complete data for kind k.
func dataFor(t *testing.T, k mail.Kind) mail.Data {
	t.Helper()
	d := mail.Data{Product: product, From: sender, To: recipient, LinkTTL: time.Hour}
	switch k {
	case mail.VerifyEmail, mail.EmailChangeVerify:
		d.Link = mustLink(t, mail.VerifyEmailPath)
		d.LinkTTL = 24 * time.Hour
	case mail.ResetPassword:
		d.Link = mustLink(t, mail.ResetPasswordPath)
	case mail.EmailChangeNotice:
		d.NewAddress = "ada.new@example.org"
	}
	return d
}

func mustLink(t *testing.T, path string) string {
	t.Helper()
	l, err := mail.Link(uiURL, path, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustLoad(t *testing.T, dir string) *mail.Templates {
	t.Helper()
	tmpl, err := mail.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestEmbeddedTemplatesRenderEveryKind(t *testing.T) {
	tmpl := mustLoad(t, "")
	for _, k := range mail.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			d := dataFor(t, k)
			m, err := tmpl.Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.From != sender || m.To != recipient {
				t.Errorf("from %q to %q", m.From, m.To)
			}
			if !strings.Contains(m.Subject, product) || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject %q: want one line naming %s", m.Subject, product)
			}
			if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, "@talentforge.example>") {
				t.Errorf("Message-ID %q, want <…@talentforge.example>", m.MessageID)
			}
			for part, body := range map[string]string{"text": m.Text, "HTML": m.HTML} {
				if !strings.Contains(body, recipient) {
					t.Errorf("%s part does not name the recipient", part)
				}
				if k == mail.EmailChangeNotice {
					if !strings.Contains(body, d.NewAddress) {
						t.Errorf("%s part does not name the new address", part)
					}
					if strings.Contains(body, "token") || strings.Contains(body, "http") {
						t.Errorf("%s part of the notice has a link:\n%s", part, body)
					}
					continue
				}
				if !strings.Contains(body, d.Link) {
					t.Errorf("%s part has no link %s:\n%s", part, d.Link, body)
				}
				if !strings.Contains(body, d.LinkValidFor()) {
					t.Errorf("%s part does not say the link works for %s", part, d.LinkValidFor())
				}
			}
		})
	}
}

func TestRenderEachTimeMakesANewMessageID(t *testing.T) {
	tmpl := mustLoad(t, "")
	d := dataFor(t, mail.VerifyEmail)
	a, err := tmpl.Render(mail.VerifyEmail, d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tmpl.Render(mail.VerifyEmail, d)
	if err != nil {
		t.Fatal(err)
	}
	if a.MessageID == b.MessageID {
		t.Errorf("two renders share Message-ID %s", a.MessageID)
	}
}

func TestResetPasswordSaysToIgnoreIt(t *testing.T) {
	m, err := mustLoad(t, "").Render(mail.ResetPassword, dataFor(t, mail.ResetPassword))
	if err != nil {
		t.Fatal(err)
	}
	for part, body := range map[string]string{"text": m.Text, "HTML": m.HTML} {
		if !strings.Contains(body, "did not ask for this, ignore this email") {
			t.Errorf("%s part does not tell who did not ask to ignore it", part)
		}
	}
}

func TestHTMLEscapesValues(t *testing.T) {
	tmpl := mustLoad(t, "")
	const hostile = "<script>alert(1)</script>"
	for _, k := range mail.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			d := dataFor(t, k)
			d.Product = hostile
			d.To = `"<img src=x onerror=alert(1)>"@example.com`
			if k == mail.EmailChangeNotice {
				d.NewAddress = hostile + "@evil.example"
			}
			m, err := tmpl.Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<img") {
				t.Errorf("HTML part carries markup from the data:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "&lt;script&gt;") || !strings.Contains(m.HTML, "&lt;img") {
				t.Errorf("HTML part does not show the escaped values:\n%s", m.HTML)
			}
			if !strings.Contains(m.Text, hostile) {
				t.Errorf("text part does not show the product name as it is")
			}
		})
	}
}

// writeOverride writes one template file into dir.
func writeOverride(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOverrideReplacesOneTemplateAndKeepsTheOthers(t *testing.T) {
	embedded := mustLoad(t, "")
	dir := t.TempDir()
	writeOverride(t, dir, "verify_email.subject.tmpl", "Welcome to {{.Product}}: one click left\n")
	writeOverride(t, dir, "README.md", "not a template, ignored")
	overridden := mustLoad(t, dir)

	for _, k := range mail.Kinds() {
		d := dataFor(t, k)
		want, err := embedded.Render(k, d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := overridden.Render(k, d)
		if err != nil {
			t.Fatal(err)
		}
		wantSubject := want.Subject
		if k == mail.VerifyEmail {
			wantSubject = "Welcome to " + product + ": one click left"
		}
		if got.Subject != wantSubject || got.Text != want.Text || got.HTML != want.HTML {
			t.Errorf("%s: subject %q, want %q; text or HTML changed: %v", k, got.Subject, wantSubject,
				got.Text != want.Text || got.HTML != want.HTML)
		}
	}
}

func TestLoadRefusesBrokenOverrides(t *testing.T) {
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"does not parse", "reset_password.text.tmpl", "{{.Link", "reset_password.text.tmpl"},
		{"HTML does not parse", "verify_email.html.tmpl", "<a href='{{.Link}}'>{{if}}</a>", "verify_email.html.tmpl"},
		{"misspelt field", "reset_password.text.tmpl", "Open {{.Lnk}}", "Lnk"},
		{"misspelt field in HTML", "email_change_notice.html.tmpl", "<p>{{.NewAdress}}</p>", "NewAdress"},
		{"subject without the product", "verify_email.subject.tmpl", "Confirm your address", "does not name the product"},
		{"text without the link", "email_change_verify.text.tmpl", "Hello {{.To}}, from {{.Product}}", "has no link"},
		{"HTML without the link", "reset_password.html.tmpl", "<p>{{.Product}}</p>", "has no link"},
		{"notice without the new address", "email_change_notice.text.tmpl", "{{.Product}}: something changed", "new address"},
		{"misspelt file name", "verify_emial.text.tmpl", "{{.Link}}", "replaces no template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeOverride(t, dir, tc.file, tc.text)
			_, err := mail.Load(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		if _, err := mail.Load(filepath.Join(t.TempDir(), "nope")); err == nil {
			t.Fatal("loaded")
		}
	})
}

func TestRenderRefusesIncompleteData(t *testing.T) {
	tmpl := mustLoad(t, "")
	for _, tc := range []struct {
		name   string
		kind   mail.Kind
		change func(*mail.Data)
	}{
		{"unknown kind", "welcome", func(*mail.Data) {}},
		{"no product", mail.VerifyEmail, func(d *mail.Data) { d.Product = " " }},
		{"no recipient", mail.VerifyEmail, func(d *mail.Data) { d.To = "" }},
		{"bad recipient", mail.VerifyEmail, func(d *mail.Data) { d.To = "ada" }},
		{"no sender", mail.ResetPassword, func(d *mail.Data) { d.From = "" }},
		{"no link", mail.ResetPassword, func(d *mail.Data) { d.Link = "" }},
		{"no link lifetime", mail.EmailChangeVerify, func(d *mail.Data) { d.LinkTTL = 0 }},
		{"a link in the notice", mail.EmailChangeNotice, func(d *mail.Data) { d.Link = mustLink(t, mail.ResetPasswordPath) }},
		{"notice without the new address", mail.EmailChangeNotice, func(d *mail.Data) { d.NewAddress = "" }},
		{"product name spanning lines", mail.VerifyEmail, func(d *mail.Data) { d.Product = "X\r\nBcc: victim@example.com" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dataFor(t, tc.kind)
			tc.change(&d)
			if m, err := tmpl.Render(tc.kind, d); err == nil {
				t.Errorf("rendered %+v", m)
			}
		})
	}
}

func TestLinkValidForInWords(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want string
	}{
		{time.Hour, "1 hour"},
		{24 * time.Hour, "24 hours"},
		{48 * time.Hour, "2 days"},
		{7 * 24 * time.Hour, "7 days"},
		{30 * time.Hour, "30 hours"},
		{15 * time.Minute, "15 minutes"},
		{time.Minute, "1 minute"},
		{90 * time.Minute, "1 hour and 30 minutes"},
		{61 * time.Minute, "1 hour and 1 minute"},
		{45 * time.Second, "45 seconds"},
		{time.Hour + 20*time.Second, "1 hour"},
		{time.Millisecond, "1 second"},
	} {
		if got := (mail.Data{LinkTTL: tc.ttl}).LinkValidFor(); got != tc.want {
			t.Errorf("LinkValidFor(%v) = %q, want %q", tc.ttl, got, tc.want)
		}
	}
}
