package oauth

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The discovery loop ends with its context, ready or not.
func TestDiscoveryLoopEndsWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	o, err := NewOIDC(ctx, Config{
		Name: "down", Issuer: issuer, ClientID: "c", RedirectURL: RedirectURL("http://authd.test", "down"),
		Logger: slog.New(slog.DiscardHandler), RetryMin: time.Hour, RetryMax: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-o.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the discovery loop still runs 5s after its context ended")
	}
	if o.Ready() {
		t.Error("ready without discovery")
	}
}

func TestAuthStyle(t *testing.T) {
	o := &OIDC{cfg: Config{ClientSecret: "s"}}
	for _, tc := range []struct {
		methods []string
		want    string
	}{
		{nil, "header"},
		{[]string{"client_secret_basic"}, "header"},
		{[]string{"private_key_jwt", "client_secret_post"}, "params"},
		{[]string{"private_key_jwt"}, "header"},
	} {
		got := map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "header", oauth2.AuthStyleInParams: "params"}[o.authStyle(tc.methods)]
		if got != tc.want {
			t.Errorf("authStyle(%v) = %s, want %s", tc.methods, got, tc.want)
		}
	}
	public := &OIDC{cfg: Config{}}
	if public.authStyle([]string{"client_secret_basic"}) != oauth2.AuthStyleInParams {
		t.Error("a public client sends basic auth")
	}
}
