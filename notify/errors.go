package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PermanentError marks a failure that retrying cannot fix: the provider
// refused this message for good (SMTP 5xx, HTTP 4xx other than 408/429, an
// invalid recipient). The engine records the notification as failed.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent failure"
	}
	return e.Err.Error()
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Retryable reports false: that is the point of the type.
func (e *PermanentError) Retryable() bool { return false }

// Permanent marks err as final. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// retryable is implemented by errors that know their own class. The outermost
// such error in a chain decides, so a caller can reclassify by wrapping.
type retryable interface{ Retryable() bool }

// IsRetryable reports whether a failed send may succeed if tried again.
//
// An error that classifies itself (PermanentError, StatusError, or anything
// with a Retryable() bool method) decides. Everything else — timeouts,
// refused or reset connections, context cancellation, SMTP 4xx, errors nobody
// anticipated — is presumed transient: dropping a page because of an
// unclassified hiccup is worse than one more attempt, and the engine's
// attempt limit bounds the cost. nil is not retryable (nothing failed).
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var r retryable
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}

// retryAfter is implemented by errors that carry a provider's Retry-After.
type retryAfter interface{ RetryAfter() (time.Duration, bool) }

// RetryAfter returns the wait the provider asked for (HTTP Retry-After on a
// 429 or 5xx), if any. The engine should wait at least this long, and may use
// Backoff.Next to combine it with its own backoff.
func RetryAfter(err error) (time.Duration, bool) {
	var r retryAfter
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0, false
}

// StatusError is a non-success HTTP answer from a provider. Its class follows
// from the status code (see HTTPStatusRetryable). Error() never contains the
// request URL or credentials: peers put secrets in both.
type StatusError struct {
	Peer   string // "twilio", "webhook chatops"
	Code   int    // HTTP status code
	Detail string // provider's explanation, already reduced to safe text
	// Wait is the parsed Retry-After; HasWait says whether there was one.
	Wait    time.Duration
	HasWait bool
	// Err is the provider's structured error, if it sent one (e.g. a Twilio
	// error with its code), for callers that need more than the class.
	Err error
}

// Unwrap exposes the provider's structured error to errors.As.
func (e *StatusError) Unwrap() error { return e.Err }

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Peer, e.Code)
	if t := http.StatusText(e.Code); t != "" {
		s += " " + t
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.HasWait {
		s += fmt.Sprintf(" (retry after %s)", e.Wait)
	}
	return s
}

// Retryable classifies by status code.
func (e *StatusError) Retryable() bool { return HTTPStatusRetryable(e.Code) }

// RetryAfter returns the provider's Retry-After, if it sent one.
func (e *StatusError) RetryAfter() (time.Duration, bool) { return e.Wait, e.HasWait }

// NewStatusError builds the error for a non-2xx answer, reading Retry-After
// from h relative to now (an HTTP-date needs a clock; injected for tests).
func NewStatusError(peer string, code int, detail string, h http.Header, now time.Time) *StatusError {
	e := &StatusError{Peer: peer, Code: code, Detail: detail}
	if h != nil {
		e.Wait, e.HasWait = ParseRetryAfter(h.Get("Retry-After"), now)
	}
	return e
}

// HTTPStatusRetryable reports whether an HTTP status is worth retrying:
// 408 (request timeout), 429 (rate limited) and every 5xx are; other 4xx are
// the provider refusing this request for good. 1xx–3xx are not failures a
// retry can fix either (redirects are deliberately not followed).
func HTTPStatusRetryable(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || (code >= 500 && code <= 599)
}

// MaxRetryAfter caps a provider's Retry-After. A misconfigured or hostile
// peer must not be able to park a page for days with one header.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads an HTTP Retry-After value: delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3). A date in the past means "now" (0, true).
// The result is capped at MaxRetryAfter. Empty or malformed values give false.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > MaxRetryAfter:
		return MaxRetryAfter, true
	}
	return d, true
}

// Snippet is a short single-line excerpt of a provider's answer body, for
// error messages: whitespace folded, invalid UTF-8 replaced, at most 200 bytes.
func Snippet(raw []byte) string {
	const max = 200
	t := strings.Join(strings.Fields(strings.ToValidUTF8(string(raw), "?")), " ")
	if len(t) > max {
		t = strings.ToValidUTF8(t[:max], "") + "…"
	}
	return t
}
