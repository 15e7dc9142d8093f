package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

const secret = "whsec-test-secret"

func fixedNow() time.Time { return time.Date(2026, 11, 25, 18, 0, 5, 0, time.UTC) }

func message() *notify.Message {
	return &notify.Message{
		ID: "n-42-1-0-chatops-webhook", Step: 1, Loop: 0,
		Incident: &incident.Incident{ID: 42, Key: "INC-42", Title: "HighErrorRate", Service: "checkout", Severity: "sev1", Status: incident.Triggered},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// receiver is a webhook endpoint that verifies deliveries like a real
// integration would, with the exported Verify.
type receiver struct {
	status atomic.Int32
	header http.Header

	mu         sync.Mutex
	deliveries []Event
	verified   []bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ok := r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" &&
		Verify(secret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature))
	var ev Event
	_ = json.Unmarshal(body, &ev)
	rc.mu.Lock()
	rc.deliveries = append(rc.deliveries, ev)
	rc.verified = append(rc.verified, ok && ev.ID == r.Header.Get(HeaderDelivery))
	rc.header = r.Header.Clone()
	rc.mu.Unlock()
	if s := int(rc.status.Load()); s != 0 {
		if s == 429 {
			w.Header().Set("Retry-After", "12")
		}
		w.WriteHeader(s)
		_, _ = w.Write([]byte("receiver says no\n"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func start(t *testing.T) (*receiver, *Sender, string) {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	s, err := New(config.Webhook{ID: "chatops", URL: srv.URL + "/hooks/T0K3N-in-path", Secret: secret}, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return rc, s, srv.URL
}

func TestDeliverySignedAndShaped(t *testing.T) {
	rc, s, _ := start(t)
	rcpt, err := s.Send(ctx(t), message())
	if err != nil {
		t.Fatal(err)
	}
	if rcpt.ProviderID != "n-42-1-0-chatops-webhook" {
		t.Fatalf("ProviderID %q", rcpt.ProviderID)
	}
	if len(rc.deliveries) != 1 || !rc.verified[0] {
		t.Fatalf("deliveries %d, verified %v", len(rc.deliveries), rc.verified)
	}
	ev := rc.deliveries[0]
	if ev.ID != "n-42-1-0-chatops-webhook" || ev.Type != "incident.notify" || ev.Step != 1 || ev.Loop != 0 ||
		!ev.SentAt.Equal(fixedNow()) || ev.Incident == nil || ev.Incident.Key != "INC-42" {
		t.Fatalf("event %+v", ev)
	}
	if got := rc.header.Get(HeaderTimestamp); got != strconv.FormatInt(fixedNow().Unix(), 10) {
		t.Fatalf("timestamp header %q", got)
	}
	if got := rc.header.Get(HeaderDelivery); got != "n-42-1-0-chatops-webhook" {
		t.Fatalf("delivery header %q", got)
	}
}

func TestDeliveryBodyIsTheAPIIncidentJSON(t *testing.T) {
	var raw map[string]json.RawMessage
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		_ = json.NewDecoder(r.Body).Decode(&raw)
	}))
	defer srv.Close()
	s, _ := New(config.Webhook{ID: "x", URL: srv.URL}, Options{Now: fixedNow})
	if _, err := s.Send(ctx(t), message()); err != nil {
		t.Fatal(err)
	}
	<-done
	for _, k := range []string{"id", "type", "incident", "step", "loop", "sent_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("event lacks %q: %v", k, raw)
		}
	}
	if string(raw["sent_at"]) != `"2026-11-25T18:00:05Z"` {
		t.Errorf("sent_at %s", raw["sent_at"])
	}
	var inc map[string]any
	_ = json.Unmarshal(raw["incident"], &inc)
	if inc["key"] != "INC-42" || inc["status"] != "triggered" {
		t.Errorf("incident %v", inc)
	}
}

func TestStatusClassification(t *testing.T) {
	rc, s, _ := start(t)
	for _, c := range []struct {
		status    int
		retryable bool
	}{{408, true}, {429, true}, {500, true}, {503, true}, {400, false}, {401, false}, {404, false}, {410, false}} {
		rc.status.Store(int32(c.status))
		_, err := s.Send(ctx(t), message())
		if err == nil || notify.IsRetryable(err) != c.retryable {
			t.Errorf("HTTP %d: err = %v, want retryable=%v", c.status, err, c.retryable)
			continue
		}
		if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(c.status)) || !strings.Contains(err.Error(), "receiver says no") {
			t.Errorf("HTTP %d: error text %q", c.status, err)
		}
		if strings.Contains(err.Error(), "T0K3N") {
			t.Errorf("error leaks the URL: %v", err)
		}
		if c.status == 429 {
			if d, ok := notify.RetryAfter(err); !ok || d != 12*time.Second {
				t.Errorf("429 RetryAfter = %v, %v", d, ok)
			}
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	hits := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/other", http.StatusFound)
	}))
	defer srv.Close()
	s, _ := New(config.Webhook{ID: "x", URL: srv.URL, Secret: secret}, Options{})
	_, err := s.Send(ctx(t), message())
	if err == nil || notify.IsRetryable(err) || hits.Load() != 1 {
		t.Fatalf("redirect: err = %v, hits %d", err, hits.Load())
	}
}

func TestTransportErrorsHideURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, _ := New(config.Webhook{ID: "chatops", URL: url + "/hooks/T0K3N-in-path", Secret: secret}, Options{})
	_, err := s.Send(ctx(t), message())
	if err == nil || !notify.IsRetryable(err) || strings.Contains(err.Error(), "T0K3N") {
		t.Fatalf("refused: err = %v", err)
	}
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Send(c, message())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"n-1"}`)
	ts := "1795629605"
	sig := Sign(secret, ts, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature shape %q", sig)
	}
	if !Verify(secret, ts, body, sig) {
		t.Fatal("valid signature rejected")
	}
	for name, ok := range map[string]bool{
		"tampered body":     Verify(secret, ts, []byte(`{"id":"n-2"}`), sig),
		"other timestamp":   Verify(secret, "1795629606", body, sig),
		"other secret":      Verify("other", ts, body, sig),
		"empty secret":      Verify("", ts, body, Sign("", ts, body)),
		"no prefix":         Verify(secret, ts, body, strings.TrimPrefix(sig, "sha256=")),
		"not hex":           Verify(secret, ts, body, "sha256=zz"),
		"truncated":         Verify(secret, ts, body, sig[:len(sig)-2]),
		"timestamp in body": Verify(secret, "", []byte(ts+"."+string(body)), sig),
	} {
		if ok {
			t.Errorf("%s: Verify accepted", name)
		}
	}
}

func TestSignKnownVector(t *testing.T) {
	// HMAC-SHA256(key "key", "1.{}"), computed with:
	//   printf '1.{}' | openssl dgst -sha256 -hmac key
	const want = "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
	if got := Sign("key", "1", []byte("{}")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestFresh(t *testing.T) {
	now := fixedNow()
	ts := strconv.FormatInt(now.Unix(), 10)
	if !Fresh(ts, now.Add(4*time.Minute), 5*time.Minute) || Fresh(ts, now.Add(6*time.Minute), 5*time.Minute) ||
		Fresh(ts, now.Add(-6*time.Minute), 5*time.Minute) || Fresh("x", now, time.Hour) {
		t.Fatal("Fresh window wrong")
	}
}

func TestNewRejectsBadURLWithoutEchoingIt(t *testing.T) {
	for _, u := range []string{"", "ftp://h/x", "/relative?token=SECRET", "http://"} {
		_, err := New(config.Webhook{ID: "x", URL: u}, Options{})
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("New(%q) = %v", u, err)
		}
	}
}
