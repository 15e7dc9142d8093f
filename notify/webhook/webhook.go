// Package webhook delivers pages to outbound webhooks (channels.webhooks) as
// signed JSON events.
//
// Request: POST to the webhook URL with
//
//	Content-Type: application/json
//	X-Pagerd-Delivery: <delivery id = notification id>
//	X-Pagerd-Timestamp: <unix seconds>
//	X-Pagerd-Signature: sha256=<lowercase hex HMAC-SHA256>
//
// and body {"id":…,"type":"incident.notify","incident":{…},"step":…,"loop":…,"sent_at":…}.
//
// What is signed: the bytes of the X-Pagerd-Timestamp header value, one "."
// (0x2E), then the raw request body, exactly as sent:
//
//	HMAC-SHA256(key = webhook secret, message = timestamp + "." + body)
//
// Binding the timestamp into the MAC lets receivers reject replays: verify
// with Verify, then refuse timestamps outside a few minutes (Fresh). The
// delivery id is stable across resends of the same notification, so a
// receiver that remembers ids can drop duplicates after a leader change.
// A webhook without a secret is sent unsigned (no X-Pagerd-Signature).
//
// 2xx is success; 408, 429 and 5xx are retryable (honouring Retry-After);
// other statuses, redirects included, are final.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// Header names and the event type.
const (
	HeaderDelivery  = "X-Pagerd-Delivery"
	HeaderTimestamp = "X-Pagerd-Timestamp"
	HeaderSignature = "X-Pagerd-Signature"
	EventNotify     = "incident.notify"
	signaturePrefix = "sha256="
)

// DefaultTimeout bounds one delivery when neither ctx nor a custom client does.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds how much of a receiver's answer is read.
const maxResponse = 64 << 10

// Event is the JSON body of a delivery.
type Event struct {
	ID       string             `json:"id"`
	Type     string             `json:"type"`
	Incident *incident.Incident `json:"incident"`
	// Summary lists the bundled incidents of a flood-control summary.
	Summary []*incident.Incident `json:"summary,omitempty"`
	Step    int                  `json:"step"`
	Loop    int                  `json:"loop"`
	SentAt  time.Time            `json:"sent_at"`
	// URL is the incident in the console (public_url + /ui/incidents/KEY),
	// empty without public_url.
	URL string `json:"url,omitempty"`
	// BridgeURL is the service's incident call link, if it has one.
	BridgeURL string `json:"bridge_url,omitempty"`
}

// EventBody is the exact JSON body Send posts for m at now. The dev outbox
// shows it too, so what a developer sees there is what a receiver gets.
func EventBody(m *notify.Message, now time.Time) ([]byte, error) {
	return json.Marshal(Event{
		ID: m.ID, Type: EventNotify, Incident: m.Incident, Summary: m.Summary,
		Step: m.Step, Loop: m.Loop, SentAt: now.UTC(), BridgeURL: m.BridgeURL, URL: notify.ConsoleLink(m.PublicURL, m.Incident),
	})
}

// Options tune a Sender; the zero value is usable.
type Options struct {
	// HTTPClient sends the requests. The default has DefaultTimeout and does
	// not follow redirects (a redirected POST is not a delivery).
	HTTPClient *http.Client
	// Now stamps sent_at and X-Pagerd-Timestamp; default time.Now.
	Now func() time.Time
}

// Sender delivers to one configured webhook. Safe for concurrent use.
type Sender struct {
	hook   config.Webhook
	client *http.Client
	now    func() time.Time
}

var _ notify.Sender = (*Sender)(nil)

// New validates the webhook config and returns a Sender.
func New(hook config.Webhook, opts Options) (*Sender, error) {
	u, err := url.Parse(hook.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may carry a token (chat hooks often do): do not echo it.
		return nil, fmt.Errorf("webhook %s: url must be an absolute http(s) URL", hook.ID)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sender{hook: hook, client: opts.HTTPClient, now: opts.Now}, nil
}

// Send POSTs the event for m. The receipt's ProviderID is the delivery id.
func (s *Sender) Send(ctx context.Context, m *notify.Message) (notify.Receipt, error) {
	if m == nil || m.ID == "" {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("webhook %s: message has no id", s.hook.ID))
	}
	now := s.now()
	body, err := EventBody(m, now)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("webhook %s: encode event %s: %w", s.hook.ID, m.ID, err))
	}
	if err := s.post(ctx, m.ID, strconv.FormatInt(now.Unix(), 10), body, now); err != nil {
		return notify.Receipt{}, fmt.Errorf("webhook %s delivery %s: %w", s.hook.ID, m.ID, err)
	}
	return notify.Receipt{ProviderID: m.ID}, nil
}

func (s *Sender) post(ctx context.Context, id, ts string, body []byte, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.hook.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(errors.New("cannot build request"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pagerd")
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	if s.hook.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(s.hook.Secret, ts, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may hold a token; keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return notify.NewStatusError("receiver", resp.StatusCode, notify.Snippet(raw), resp.Header, now)
}

// Sign returns the X-Pagerd-Signature value for a delivery:
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature (the X-Pagerd-Signature value) is valid
// for timestamp (the X-Pagerd-Timestamp value) and the raw body. The
// comparison is constant-time. An empty secret never verifies, so a receiver
// that forgot to configure one fails closed.
func Verify(secret, timestamp string, body []byte, signature string) bool {
	if secret == "" || !strings.HasPrefix(signature, signaturePrefix) {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, signaturePrefix))
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, timestamp, body), signaturePrefix))
	return hmac.Equal(got, want)
}

// Fresh reports whether timestamp (unix seconds) is within tolerance of now,
// for receivers rejecting replayed deliveries. Five minutes is a sensible
// tolerance.
func Fresh(timestamp string, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= tolerance && d >= -tolerance
}
