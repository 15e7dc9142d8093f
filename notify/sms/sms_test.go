package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/notify/sms"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "s3cr3t-auth-token-value"
)

func setup(t *testing.T) (*twiliotest.Server, *sms.Sender) {
	t.Helper()
	fake := twiliotest.NewServer(accountSID, authToken)
	t.Cleanup(fake.Close)
	return fake, newSender(t, fake.URL, authToken)
}

func newSender(t *testing.T, base, token string) *sms.Sender {
	t.Helper()
	s, err := sms.New(config.SMSChannel{Provider: "twilio", AccountSID: accountSID, AuthToken: token, From: "+15550000000", APIBase: base}, sms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func page(phone string) *notify.Message {
	return &notify.Message{
		ID:        "n-42-0-1-alice-sms",
		User:      config.User{ID: "alice", Phone: phone},
		ReplyCode: "3",
		Incident:  &incident.Incident{ID: 42, Key: "INC-42", Title: "HighErrorRate", Service: "checkout", Severity: "sev1", AlertCount: 3},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// noSecrets fails if an error text contains a credential. The account sid
// is marked secret in the config, and it is part of the request URL.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), authToken) || strings.Contains(err.Error(), accountSID) {
		t.Fatalf("error leaks a credential: %v", err)
	}
}

var sidShape = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestSendSuccess(t *testing.T) {
	fake, s := setup(t)
	rcpt, err := s.Send(ctx(t), page("+31612345001"))
	if err != nil {
		t.Fatal(err)
	}
	if !sidShape.MatchString(rcpt.ProviderID) {
		t.Fatalf("ProviderID %q is not a message sid", rcpt.ProviderID)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("fake got %d messages", len(msgs))
	}
	got := msgs[0]
	want := "INC-42 sev1 checkout: HighErrorRate - 3 alerts. Reply 3a to ack, 3r to resolve, 3e to escalate"
	if got.To != "+31612345001" || got.From != "+15550000000" || got.Body != want || got.SID != rcpt.ProviderID {
		t.Fatalf("fake recorded %+v", got)
	}
}

func TestRateLimitThenSuccess(t *testing.T) {
	fake, s := setup(t)
	fake.FailNext(1, twiliotest.RateLimited(3*time.Second))
	_, err := s.Send(ctx(t), page("+31612345001"))
	if err == nil || !notify.IsRetryable(err) {
		t.Fatalf("429: err = %v, want retryable", err)
	}
	if d, ok := notify.RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("RetryAfter = %v, %v; want 3s", d, ok)
	}
	noSecrets(t, err)
	// The caller retries (after the wait); the provider now accepts.
	if _, err := s.Send(ctx(t), page("+31612345001")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n, m := len(fake.Requests()), len(fake.Messages()); n != 2 || m != 1 {
		t.Fatalf("requests %d, messages %d", n, m)
	}
}

func TestServerErrorRetryable(t *testing.T) {
	fake, s := setup(t)
	fake.FailNext(1, twiliotest.ServerError())
	_, err := s.Send(ctx(t), page("+31612345001"))
	if err == nil || !notify.IsRetryable(err) {
		t.Fatalf("500: err = %v", err)
	}
	if _, ok := notify.RetryAfter(err); ok {
		t.Fatal("RetryAfter without a header")
	}
	noSecrets(t, err)
}

func TestPermanentErrorsCarryTwilioMessage(t *testing.T) {
	cases := []struct {
		name   string
		phone  string
		script *twiliotest.Reply
		code   int
		text   string
	}{
		{"unsubscribed", "+31612345001", ptr(twiliotest.Unsubscribed()), 21610, "Attempt to send to unsubscribed recipient"},
		{"invalid To", "0612345001", nil, 21211, "The 'To' number 0612345001 is not a valid phone number."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake, s := setup(t)
			if c.script != nil {
				fake.FailNext(1, *c.script)
			}
			_, err := s.Send(ctx(t), page(c.phone))
			if err == nil || notify.IsRetryable(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			var apiErr *sms.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != c.code || apiErr.Status != 400 {
				t.Fatalf("APIError = %+v from %v", apiErr, err)
			}
			if !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), "HTTP 400") {
				t.Fatalf("error text %q lacks Twilio's message", err)
			}
			noSecrets(t, err)
		})
	}
}

func TestAuthFailure(t *testing.T) {
	fake, _ := setup(t)
	s := newSender(t, fake.URL, "wrong-token")
	_, err := s.Send(ctx(t), page("+31612345001"))
	if err == nil || notify.IsRetryable(err) {
		t.Fatalf("401: err = %v, want permanent", err)
	}
	var apiErr *sms.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 20003 || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("401 error %v", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("error leaks the token: %v", err)
	}
	noSecrets(t, err)
	if r := fake.Requests(); len(r) != 1 || r[0].Status != 401 {
		t.Fatalf("fake recorded %+v", r)
	}
}

func TestTransportErrorsRetryableAndRedacted(t *testing.T) {
	fake, s := setup(t)
	fake.Close() // connection refused from now on
	_, err := s.Send(ctx(t), page("+31612345001"))
	if err == nil || !notify.IsRetryable(err) {
		t.Fatalf("refused: err = %v", err)
	}
	noSecrets(t, err)

	// A provider that never answers; released when the test ends so Close
	// does not wait on the handler.
	release := make(chan struct{})
	block := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer block.Close()
	defer close(release)
	s = newSender(t, block.URL, authToken)
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Send(c, page("+31612345001"))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !notify.IsRetryable(err) {
		t.Fatalf("timeout: err = %v", err)
	}
	noSecrets(t, err)
}

func TestNonJSONAndRedirectAnswers(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := int(status.Load())
		if code == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", code)
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html>bad gateway, token " + authToken + "</html>"))
	}))
	defer srv.Close()
	s := newSender(t, srv.URL, authToken)
	for _, c := range []struct {
		status    int
		retryable bool
	}{{502, true}, {http.StatusFound, false}, {201, false}} {
		status.Store(int32(c.status))
		_, err := s.Send(ctx(t), page("+31612345001"))
		if err == nil || notify.IsRetryable(err) != c.retryable {
			t.Errorf("HTTP %d: err = %v, want retryable=%v", c.status, err, c.retryable)
			continue
		}
		noSecrets(t, err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []config.SMSChannel{
		{AccountSID: accountSID, AuthToken: authToken},
		{AccountSID: accountSID, From: "+1555"},
		{Provider: "nexmo", AccountSID: accountSID, AuthToken: authToken, From: "+1555"},
		{AccountSID: accountSID, AuthToken: authToken, From: "+1555", APIBase: "ftp://x"},
	} {
		if _, err := sms.New(cfg, sms.Options{}); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), authToken) {
			t.Errorf("config error leaks the token: %v", err)
		}
	}
	s, err := sms.New(config.SMSChannel{AccountSID: accountSID, AuthToken: authToken, From: "+1555"}, sms.Options{})
	if err != nil || s == nil {
		t.Fatalf("default api_base: %v", err)
	}
	if _, err := s.Send(ctx(t), page("")); err == nil || notify.IsRetryable(err) {
		t.Fatalf("no phone: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
