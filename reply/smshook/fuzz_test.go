package smshook

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/reply/replytest"
)

// FuzzHandler posts arbitrary form bodies, correctly signed whenever they
// parse as a form, to a handler over a fake backend. The handler must never
// panic; a parseable, signed form is answered 200 TwiML (or 400 without
// From), anything else 403; an unparseable body or an unknown sender never
// acts.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{
		"From=%2B31612345001&Body=3a&MessageSid=SM1",
		"From=%2B31612345001&Body=ack",
		"From=%2B31612345001&Body=STOP&MessageSid=SM2",
		"From=%2B31612345001&Body=7r",
		"From=%2B15550009999&Body=3a",
		"From=%2B31612345001&Body=%E2%9C%85+3+ESC&Body=3r",
		"Body=3a",
		"From=%zz&Body=3a",
		"",
	} {
		f.Add(s)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, raw string) {
		be := replytest.New()
		be.AddUser("alice", alice)
		be.AddPage(reply.Page{Notification: "n42-1-0", Incident: 42, User: "alice", Channel: "sms", To: alice, Code: 3})
		h := New(Options{
			AuthToken: func() string { return authToken },
			PublicURL: func() string { return publicURL },
			Backend:   be,
			Logger:    quiet,
		})
		form, perr := url.ParseQuery(raw)
		sig := "invalid"
		if perr == nil {
			sig = reply.TwilioSignature(authToken, publicURL+Path, form)
		}
		r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(raw))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case perr != nil || len(raw) > MaxBodyBytes:
			if w.Code == http.StatusOK || be.ActCalls() != 0 {
				t.Fatalf("unparseable body answered %d, %d Act calls", w.Code, be.ActCalls())
			}
		case strings.TrimSpace(form.Get("From")) == "":
			if w.Code != http.StatusBadRequest {
				t.Fatalf("no From: status %d", w.Code)
			}
		default:
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), `<?xml version="1.0" encoding="UTF-8"?><Response`) {
				t.Fatalf("signed form: status %d, body %q", w.Code, w.Body)
			}
			if strings.TrimSpace(form.Get("From")) != alice && be.ActCalls() != 0 {
				t.Fatal("an unknown number acted")
			}
			if inc, _ := be.Incident(42); inc.Status != incident.Triggered && inc.AcknowledgedBy != "alice" && inc.ResolvedBy != "alice" {
				t.Fatalf("incident changed by someone else: %+v", inc)
			}
		}
	})
}
