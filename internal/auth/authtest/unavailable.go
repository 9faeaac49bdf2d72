package authtest

import (
	"errors"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// WantUnavailable fails unless err is the EUnavailable error of a database
// that can't be used for now: a retry hint of a few seconds, the domain's
// message (nothing of the driver), and the driver's error kept for the logs.
func WantUnavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.EUnavailable {
		tb.Errorf("%s: err = %v, want EUnavailable", what, err)
		return
	}
	if want := auth.Unavailable(0, nil).Message; ae.Message != want {
		tb.Errorf("%s: message %q, want %q", what, ae.Message, want)
	}
	if ae.RetryAfter < time.Second || ae.RetryAfter > 30*time.Second {
		tb.Errorf("%s: RetryAfter = %v, want a few seconds", what, ae.RetryAfter)
	}
	if ae.Err == nil {
		tb.Errorf("%s: the driver's error is not kept for the logs", what)
	}
}
