// Package sms sends pages as SMS through Twilio's Messages API, or any
// provider that speaks its wire format (channels.sms.api_base):
//
//	POST {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json
//	Authorization: Basic base64(account_sid:auth_token)
//	Content-Type: application/x-www-form-urlencoded
//	To=+31612345001&From=+15550000000&Body=INC-42 sev1 ...
//
// 201 with a message sid is success; 408, 429 and 5xx are retryable (with
// Twilio's Retry-After when sent); other 4xx are final and carry Twilio's
// error code and message. The account sid and auth token never appear in an
// error: errors name the endpoint as "Messages.json", not by URL.
//
// Twilio has no idempotency key for sending messages, so an SMS whose answer
// was lost (timeout after the request left) may be delivered twice if the
// engine retries it; the page body is identical, so the duplicate is harmless.
package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
)

// DefaultAPIBase is Twilio's API host, used when api_base is empty.
const DefaultAPIBase = "https://api.twilio.com"

// DefaultTimeout bounds one request when neither ctx nor a custom client does.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds how much of an answer is read: Twilio's are < 2 KiB.
const maxResponse = 64 << 10

// Options tune a Sender; the zero value is usable.
type Options struct {
	// HTTPClient sends the requests. The default has DefaultTimeout and does
	// not follow redirects (a redirected POST is not a sent message).
	HTTPClient *http.Client
	// Now is the clock for HTTP-date Retry-After values; default time.Now.
	Now func() time.Time
}

// Sender sends SMS through a Twilio-compatible API. Safe for concurrent use.
type Sender struct {
	cfg      config.SMSChannel
	endpoint string
	client   *http.Client
	now      func() time.Time
}

var _ notify.Sender = (*Sender)(nil)

// New validates the channel config and returns a Sender.
func New(cfg config.SMSChannel, opts Options) (*Sender, error) {
	if cfg.Provider != "" && cfg.Provider != "twilio" {
		return nil, fmt.Errorf("sms: provider %q not supported (want twilio)", cfg.Provider)
	}
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("sms: channels.sms needs account_sid, auth_token and from")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	base, err := url.Parse(cfg.APIBase)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("sms: channels.sms.api_base %q: want an http(s) URL", cfg.APIBase)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultTimeout, CheckRedirect: noRedirects}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	endpoint := strings.TrimRight(cfg.APIBase, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Sender{cfg: cfg, endpoint: endpoint, client: opts.HTTPClient, now: opts.Now}, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Send texts notify.SMSBody(m) to m.User.Phone. The receipt's ProviderID is
// Twilio's message sid.
func (s *Sender) Send(ctx context.Context, m *notify.Message) (notify.Receipt, error) {
	if m == nil || m.User.Phone == "" {
		return notify.Receipt{}, notify.Permanent(errors.New("sms: message has no recipient phone number"))
	}
	sid, err := s.post(ctx, m.User.Phone, notify.SMSBody(m))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("sms %s to %s: %w", m.ID, m.User.Phone, err)
	}
	return notify.Receipt{ProviderID: sid}, nil
}

// post creates one Message resource and returns its sid.
func (s *Sender) post(ctx context.Context, to, body string) (string, error) {
	form := url.Values{"To": {to}, "From": {s.cfg.From}, "Body": {body}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		// The URL holds the account sid; keep it out of the message.
		return "", notify.Permanent(errors.New("twilio: cannot build request to Messages.json"))
	}
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pagerd")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", s.transportError(err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		_ = resp.Body.Close()
	}()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("twilio: read answer to POST Messages.json (HTTP %d): %w", resp.StatusCode, s.transportError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", s.statusError(resp, raw)
	}
	var msg struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil || msg.SID == "" {
		// The provider accepted something but did not say what; retrying
		// could send the page twice, so this is final.
		return "", notify.Permanent(fmt.Errorf("twilio: HTTP %d without a message sid", resp.StatusCode))
	}
	return msg.SID, nil
}

// transportError strips the request URL (it contains the account sid) from
// client errors while keeping the cause (timeouts, refused connections) in
// the chain for errors.Is and classification.
func (s *Sender) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("twilio: POST Messages.json: %w", redactErr{err, s.redact})
}

// APIError is Twilio's error body, e.g.
// {"code":21211,"message":"The 'To' number 123 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
// It is in the chain of a failed Send's error: use errors.As to read the code
// (21610 means the recipient has replied STOP).
type APIError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("code %d: %s", e.Code, e.Message)
	if e.MoreInfo != "" {
		s += " (" + e.MoreInfo + ")"
	}
	return s
}

// statusError classifies a non-2xx answer and surfaces Twilio's explanation.
func (s *Sender) statusError(resp *http.Response, raw []byte) error {
	se := notify.NewStatusError("twilio", resp.StatusCode, "", resp.Header, s.now())
	var apiErr APIError
	if json.Unmarshal(raw, &apiErr) == nil && (apiErr.Code != 0 || apiErr.Message != "") {
		apiErr.Message = s.redact(apiErr.Message)
		apiErr.MoreInfo = s.redact(apiErr.MoreInfo)
		se.Err = &apiErr
		se.Detail = apiErr.Error()
		return se
	}
	se.Detail = s.redact(notify.Snippet(raw))
	return se
}

// redact removes the credentials from text a provider sent back, in case a
// compatible provider echoes the request.
func (s *Sender) redact(text string) string {
	text = strings.ReplaceAll(text, s.cfg.AuthToken, "[redacted]")
	return strings.ReplaceAll(text, s.cfg.AccountSID, "[account]")
}

// redactErr keeps an error's chain but scrubs its text.
type redactErr struct {
	err    error
	redact func(string) string
}

func (e redactErr) Error() string { return e.redact(e.err.Error()) }
func (e redactErr) Unwrap() error { return e.err }
