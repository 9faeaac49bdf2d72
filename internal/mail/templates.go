package mail

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind names a mail authd sends; it is the prefix of its template files.
type Kind string

// The kinds of mail. Every kind but EmailChangeNotice carries a link with a
// token.
const (
	// VerifyEmail asks a new user (at sign-up, and again on request) to
	// confirm their address.
	VerifyEmail Kind = "verify_email"
	// ResetPassword carries a password-reset link.
	ResetPassword Kind = "reset_password"
	// EmailChangeVerify goes to the new address of an email change, to
	// confirm it.
	EmailChangeVerify Kind = "email_change_verify"
	// EmailChangeNotice goes to the old address of an email change: a change
	// to Data.NewAddress was requested, and whoever did not ask for it should
	// reset their password. It carries no link, so no token.
	EmailChangeNotice Kind = "email_change_notice"
)

// Kinds returns every kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{VerifyEmail, ResetPassword, EmailChangeVerify, EmailChangeNotice}
}

func (k Kind) hasLink() bool { return k != EmailChangeNotice }

// The three files of a kind, "<kind>.subject.tmpl" and so on. The subject
// and the text part are text/template; the HTML part is html/template, which
// escapes every value for where it appears.
const (
	subjectSuffix = ".subject.tmpl"
	textSuffix    = ".text.tmpl"
	htmlSuffix    = ".html.tmpl"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Data is what a template is rendered with.
type Data struct {
	Product    string        // product name, named in every subject
	From       string        // sender address; also the domain of the Message-ID
	To         string        // recipient address
	Link       string        // link with the token (see Link); empty for EmailChangeNotice
	NewAddress string        // EmailChangeNotice: the address the account is changing to
	LinkTTL    time.Duration // how long Link works
}

// LinkValidFor is LinkTTL in words, as templates write it: "1 hour",
// "24 hours", "30 minutes", "1 hour and 30 minutes", "7 days".
func (d Data) LinkValidFor() string {
	t := d.LinkTTL
	if t < time.Minute {
		return plural(max(int(t.Round(time.Second)/time.Second), 1), "second")
	}
	t = t.Round(time.Minute)
	const day = 24 * time.Hour
	// "24 hours" reads better than "1 day" for a deadline counted from now.
	if t >= 2*day && t%day == 0 {
		return plural(int(t/day), "day")
	}
	h, m := int(t/time.Hour), int(t%time.Hour/time.Minute)
	switch {
	case h == 0:
		return plural(m, "minute")
	case m == 0:
		return plural(h, "hour")
	}
	return plural(h, "hour") + " and " + plural(m, "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// check refuses data that kind k can't be rendered from, before a message
// with a hole in it is stored.
func (d Data) check(k Kind) error {
	switch {
	case strings.TrimSpace(d.Product) == "":
		return errors.New("mail: no product name")
	case d.From == "" || d.To == "":
		return errors.New("mail: no sender or recipient address")
	case k.hasLink() && d.Link == "":
		return fmt.Errorf("mail: %s without a link", k)
	case k.hasLink() && d.LinkTTL <= 0:
		return fmt.Errorf("mail: %s without a link lifetime", k)
	case !k.hasLink() && d.Link != "":
		// The old address of an email change must get no token: whoever
		// reads it may be who the change locks out.
		return fmt.Errorf("mail: %s carries no link", k)
	case k == EmailChangeNotice && d.NewAddress == "":
		return fmt.Errorf("mail: %s without the new address", k)
	}
	return nil
}

// Templates renders every kind of mail. It is safe for concurrent use.
type Templates struct {
	kinds map[Kind]*kindTemplates
}

type kindTemplates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Load parses the embedded templates, each replaced by the file of the same
// name in dir when dir is not empty (AUTH_MAIL_TEMPLATES_DIR). It fails, so
// that authd fails at start-up rather than at the first mail, when dir holds
// a .tmpl file that replaces no template (a misspelt name), when a template
// does not parse, or when a kind does not render from sample data: a
// misspelt field, a subject without the product name, or a part without the
// link (or, for EmailChangeNotice, without the new address).
func Load(dir string) (*Templates, error) {
	src, err := sources(dir)
	if err != nil {
		return nil, err
	}
	t := &Templates{kinds: make(map[Kind]*kindTemplates)}
	for _, k := range Kinds() {
		kt, err := parseKind(k, src)
		if err != nil {
			return nil, err
		}
		t.kinds[k] = kt
	}
	for _, k := range Kinds() {
		if err := t.checkSample(k, dir); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Render renders the mail of kind k from d into a new message (see
// NewMessage): its Message-ID is made now, once.
func (t *Templates) Render(k Kind, d Data) (*Message, error) {
	kt, ok := t.kinds[k]
	if !ok {
		return nil, fmt.Errorf("mail: unknown kind %q", k)
	}
	if err := d.check(k); err != nil {
		return nil, err
	}
	var subject, text, html strings.Builder
	for _, err := range []error{kt.subject.Execute(&subject, d), kt.text.Execute(&text, d), kt.html.Execute(&html, d)} {
		if err != nil {
			return nil, fmt.Errorf("mail: render %s: %w", k, err)
		}
	}
	// Template files end with a newline, which a subject must not keep.
	return NewMessage(d.From, d.To, strings.TrimSpace(subject.String()), text.String(), html.String())
}

// source is one template file's text and where it came from.
type source struct {
	text, path string
}

// sources returns the text of every template file by name: the embedded
// one, or the file of dir that overrides it.
func sources(dir string) (map[string]source, error) {
	names, err := fs.Glob(embedded, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	src := make(map[string]source, len(names))
	for _, n := range names {
		b, err := embedded.ReadFile(n)
		if err != nil {
			return nil, err
		}
		src[path.Base(n)] = source{string(b), "embedded " + n}
	}
	if dir == "" {
		return src, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: templates directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		if _, ok := src[name]; !ok {
			return nil, fmt.Errorf("mail: template %s in %s replaces no template (the names are <kind>%s, %s and %s)",
				name, dir, subjectSuffix, textSuffix, htmlSuffix)
		}
		file := filepath.Join(dir, name)
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("mail: template: %w", err)
		}
		src[name] = source{string(b), file}
	}
	return src, nil
}

func parseKind(k Kind, src map[string]source) (*kindTemplates, error) {
	// missingkey=error makes a reference to an absent key fail, should the
	// data ever be a map; on the Data struct a misspelt field already does.
	parseText := func(name string) (*texttemplate.Template, error) {
		s := src[name]
		t, err := texttemplate.New(name).Option("missingkey=error").Parse(s.text)
		if err != nil {
			return nil, fmt.Errorf("mail: template %s: %w", s.path, err)
		}
		return t, nil
	}
	var kt kindTemplates
	var err error
	if kt.subject, err = parseText(string(k) + subjectSuffix); err != nil {
		return nil, err
	}
	if kt.text, err = parseText(string(k) + textSuffix); err != nil {
		return nil, err
	}
	s := src[string(k)+htmlSuffix]
	if kt.html, err = htmltemplate.New(string(k) + htmlSuffix).Option("missingkey=error").Parse(s.text); err != nil {
		return nil, fmt.Errorf("mail: template %s: %w", s.path, err)
	}
	return &kt, nil
}

// checkSample renders k from sample data and checks what every mail of k
// must show, so that a broken override stops authd at start-up.
func (t *Templates) checkSample(k Kind, dir string) error {
	d := Data{
		Product: "Sample Product",
		From:    "no-reply@example.com",
		To:      "user@example.com",
		LinkTTL: 24 * time.Hour,
	}
	if k.hasLink() {
		d.Link = "https://ui.example.com/sample#token=sample-token"
	} else {
		d.NewAddress = "new-address@example.com"
	}
	where := "embedded templates"
	if dir != "" {
		where = "templates in " + dir
	}
	m, err := t.Render(k, d)
	if err != nil {
		return fmt.Errorf("mail: %s: %s does not render: %w", where, k, err)
	}
	if !strings.Contains(m.Subject, d.Product) {
		return fmt.Errorf("mail: %s: the subject of %s does not name the product", where, k)
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"HTML", m.HTML}} {
		switch {
		case k.hasLink() && !strings.Contains(part.body, d.Link):
			return fmt.Errorf("mail: %s: the %s part of %s has no link", where, part.name, k)
		case k == EmailChangeNotice && !strings.Contains(part.body, d.NewAddress):
			return fmt.Errorf("mail: %s: the %s part of %s does not name the new address", where, part.name, k)
		}
	}
	return nil
}
