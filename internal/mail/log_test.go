package mail_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/talentforge/authd/internal/mail"
)

func TestLogWritesTheLink(t *testing.T) {
	var buf bytes.Buffer
	sender := mail.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	m, link := verifyMail(t)
	if err := sender.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	var line struct {
		Level     string   `json:"level"`
		To        string   `json:"to"`
		Subject   string   `json:"subject"`
		MessageID string   `json:"message_id"`
		Links     []string `json:"links"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if line.Level != "INFO" || line.To != m.To || line.Subject != m.Subject || line.MessageID != m.MessageID {
		t.Errorf("logged %+v, want INFO with the message's to, subject and Message-ID", line)
	}
	if len(line.Links) != 1 || line.Links[0] != link {
		t.Errorf("logged links %q, want [%s]", line.Links, link)
	}
}
