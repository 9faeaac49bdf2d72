package authtest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/mail"
)

// SentMail is a mail a service queued, as its recipient would read it.
type SentMail struct {
	Kind  auth.MailKind
	Msg   *mail.Message
	Token string // the token of its link; "" for a mail without one
	// ExpiresAt is when its link stops working, as queued (the outbox
	// drops it unsent then); zero for a mail without a link.
	ExpiresAt time.Time
}

// ClaimMail claims every mail queued in store that no earlier claim
// returned, opens it as the outbox's sender would (with Composer), and
// returns them oldest first.
func ClaimMail(tb testing.TB, store Backend) []SentMail {
	tb.Helper()
	// Far enough ahead of any test clock that everything queued is due.
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	queued, err := store.ClaimMail(tb.Context(), far, far.Add(time.Hour), 1000)
	if err != nil {
		tb.Fatalf("claim mail: %v", err)
	}
	c := Composer(tb)
	var out []SentMail
	for _, q := range queued {
		m, err := c.Open(q.Payload)
		if err != nil {
			tb.Fatalf("open queued mail %s: %v", q.ID, err)
		}
		out = append(out, SentMail{Kind: q.Kind, Msg: m, Token: LinkToken(tb, m.Text), ExpiresAt: q.ExpiresAt})
	}
	return out
}

// LinkToken returns the token of the link in a mail's text part, checking
// that it is where it belongs: under UIURL, in the fragment (no server log
// or Referer sees a fragment).
func LinkToken(tb testing.TB, text string) string {
	tb.Helper()
	i := strings.Index(text, UIURL)
	if i < 0 {
		return ""
	}
	link := strings.Fields(text[i:])[0]
	u, err := url.Parse(link)
	if err != nil {
		tb.Fatalf("link %q: %v", link, err)
	}
	if u.RawQuery != "" {
		tb.Errorf("link %q has a query: the token belongs in the fragment", link)
	}
	frag, err := url.ParseQuery(u.Fragment)
	if err != nil {
		tb.Fatalf("link %q: fragment: %v", link, err)
	}
	return frag.Get("token")
}
