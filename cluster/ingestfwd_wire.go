package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

// The wire format of the ingest forwarding channel (ingestfwd.go): one JSON
// request carries the commands a follower's router built for concurrent
// ingest requests, one JSON answer carries one result per command, in order.
//
//	request: {"items":[{"kind":"event","body":{...incident.Event...}},
//	                   {"kind":"alert_group","body":{...}},
//	                   {"kind":"heartbeats","body":["hb-1"]}]}
//	answer:  {"results":[{"incident":7,"dedup_key":"k","created":true},
//	                     {"error":"...","retry_after_ms":1000},
//	                     {"error":"...","deadline":true}]}
//
// The bodies are the router's payloads before the leader stamps anything
// (paging plan, time, ids): the leader submits them exactly as if its own
// router had built them. Both sides run the same ingestForwardVersion, so
// the bodies decode strictly: a field the leader does not know would be a
// command applied with less than the follower meant.

// Item kinds of a forwarded ingest request.
const (
	fwdEvent      = "event"
	fwdAlertGroup = "alert_group"
	fwdHeartbeats = "heartbeats"
)

// maxForwardItems bounds the items of one forwarded request; the sender
// closes a request at this count (and at maxForwardBatchBytes).
const maxForwardItems = 512

// fwdItem is one decoded item of a forwarded request: exactly one of the
// payloads is set, as kind says.
type fwdItem struct {
	kind       string
	event      *incident.Event
	group      *incident.AlertGroup
	heartbeats []string
}

// fwdResult is one item's answer: the ingest result, or the error the
// leader's submit returned, with what the router needs to answer alike
// (Retry-After, or a commit deadline).
type fwdResult struct {
	Incident     uint64 `json:"incident,omitempty"`
	DedupKey     string `json:"dedup_key,omitempty"`
	Created      bool   `json:"created,omitempty"`
	Error        string `json:"error,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	Deadline     bool   `json:"deadline,omitempty"`
}

// appendForwardItem appends one item to a request being built by hand (the
// body is the payload's JSON, already encoded by the sender's goroutine).
func appendForwardItem(buf []byte, first bool, kind string, body []byte) []byte {
	if !first {
		buf = append(buf, ',')
	}
	buf = append(buf, `{"kind":"`...)
	buf = append(buf, kind...)
	buf = append(buf, `","body":`...)
	buf = append(buf, body...)
	return append(buf, '}')
}

// encodeForwardRequest is the request holding items (kind, body JSON).
func encodeForwardRequest(kinds []string, bodies [][]byte) []byte {
	n := 16
	for _, b := range bodies {
		n += len(b) + 32
	}
	buf := append(make([]byte, 0, n), `{"items":[`...)
	for i := range kinds {
		buf = appendForwardItem(buf, i == 0, kinds[i], bodies[i])
	}
	return append(buf, "]}"...)
}

// decodeForwardRequest reads a forwarded request: exactly the framing
// encodeForwardRequest writes (no other spelling of the same JSON is
// accepted: only pagerd writes these), 1 to maxForwardItems items of a
// known kind, each body decoded strictly as its kind's payload. The
// framing is read by hand (frameParser, as a log entry's): decoding it
// with encoding/json first would scan and copy every body once more.
func decodeForwardRequest(data []byte) ([]fwdItem, error) {
	p := frameParser{data: data}
	if !p.lit(`{"items":[`) {
		return nil, errors.New(`forwarded ingest request: want {"items":[`)
	}
	var items []fwdItem
	for {
		if len(items) == maxForwardItems {
			return nil, fmt.Errorf("forwarded ingest request: more than %d items", maxForwardItems)
		}
		if !p.lit(`{"kind":`) {
			return nil, fmt.Errorf("forwarded ingest request: items[%d]: want {\"kind\":", len(items))
		}
		kind, ok := p.plainString()
		if !ok || !p.lit(`,"body":`) {
			return nil, fmt.Errorf("forwarded ingest request: items[%d]: want \"kind\":\"NAME\",\"body\":", len(items))
		}
		body, ok := p.value()
		if !ok || !p.lit(`}`) {
			return nil, fmt.Errorf("forwarded ingest request: items[%d]: body is not one JSON value", len(items))
		}
		item, err := decodeForwardItem(string(kind[1:len(kind)-1]), body)
		if err != nil {
			return nil, fmt.Errorf("forwarded ingest request: items[%d]: %w", len(items), err)
		}
		items = append(items, item)
		if p.lit(`]}`) {
			break
		}
		if !p.lit(`,`) {
			return nil, fmt.Errorf("forwarded ingest request: after items[%d]: want , or ]}", len(items)-1)
		}
	}
	if p.i != len(data) {
		return nil, errors.New("forwarded ingest request: data after the request")
	}
	return items, nil
}

func decodeForwardItem(kind string, body []byte) (fwdItem, error) {
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		return fwdItem{}, errors.New("body: required")
	}
	it := fwdItem{kind: kind}
	var err error
	switch kind {
	case fwdEvent:
		// The forwarder writes events as the leader's log does
		// (marshalBody), so the fast reader takes them; else strictly.
		var ok bool
		if it.event, ok = incident.ParseEventJSON(body); !ok {
			it.event = new(incident.Event)
			err = decodeStrict(body, it.event)
		}
	case fwdAlertGroup:
		it.group = new(incident.AlertGroup)
		err = decodeStrict(body, it.group)
	case fwdHeartbeats:
		err = decodeStrict(body, &it.heartbeats)
		if err == nil && len(it.heartbeats) == 0 {
			err = errors.New("no heartbeat ids")
		}
	default:
		return fwdItem{}, fmt.Errorf("kind: unknown %q", kind)
	}
	if err != nil {
		return fwdItem{}, fmt.Errorf("%s body: %w", kind, err)
	}
	return it, nil
}

// encodeForwardAnswer is the answer with one result per item.
func encodeForwardAnswer(results []fwdResult) ([]byte, error) {
	buf := make([]byte, 0, 16+64*len(results))
	buf = append(buf, `{"results":`...)
	if results == nil {
		return append(buf, "null}"...), nil
	}
	buf = append(buf, '[')
	for i := range results {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = results[i].appendJSON(buf)
	}
	return append(buf, "]}"...), nil
}

// appendJSON appends r as json.Marshal writes it (omitempty fields left
// out when zero; TestForwardAnswerMatchesMarshal): by reflection it was
// one encode per forwarded payload on the leader.
func (r *fwdResult) appendJSON(buf []byte) []byte {
	buf = append(buf, '{')
	start := len(buf)
	field := func(name string) {
		if len(buf) > start {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, `":`...)
	}
	if r.Incident != 0 {
		field("incident")
		buf = strconv.AppendUint(buf, r.Incident, 10)
	}
	if r.DedupKey != "" {
		field("dedup_key")
		buf = jsonenc.AppendString(buf, r.DedupKey)
	}
	if r.Created {
		field("created")
		buf = append(buf, "true"...)
	}
	if r.Error != "" {
		field("error")
		buf = jsonenc.AppendString(buf, r.Error)
	}
	if r.RetryAfterMS != 0 {
		field("retry_after_ms")
		buf = strconv.AppendInt(buf, r.RetryAfterMS, 10)
	}
	if r.Deadline {
		field("deadline")
		buf = append(buf, "true"...)
	}
	return append(buf, '}')
}

// decodeForwardAnswer reads the leader's answer to a request of want items.
func decodeForwardAnswer(r io.Reader, want int) ([]fwdResult, error) {
	var ans struct {
		Results []fwdResult `json:"results"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		return nil, fmt.Errorf("leader's forwarded ingest answer: %w", err)
	}
	if len(ans.Results) != want {
		return nil, fmt.Errorf("leader's forwarded ingest answer: %d results for %d items", len(ans.Results), want)
	}
	return ans.Results, nil
}

// resultOf is what the leader answers for one submit.
func resultOf(res incident.IngestResult, err error) fwdResult {
	if err == nil {
		return fwdResult{Incident: res.Incident, DedupKey: res.DedupKey, Created: res.Created}
	}
	r := fwdResult{Error: err.Error()}
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case errors.As(err, &ra):
		r.RetryAfterMS = max(1, ra.RetryAfter().Milliseconds())
	case errors.Is(err, context.DeadlineExceeded):
		r.Deadline = true
	}
	if r.Error == "" {
		r.Error = "error" // an empty text would read as success
	}
	return r
}

// ingestOutcome turns a result back into what the leader's submit
// returned: the same text, Retry-After and deadline, so the follower's
// router answers as the leader's would have.
func (r fwdResult) ingestOutcome() (incident.IngestResult, error) {
	if r.Error == "" {
		return incident.IngestResult{Incident: r.Incident, DedupKey: r.DedupKey, Created: r.Created}, nil
	}
	e := &remoteError{msg: r.Error, retryAfter: time.Duration(r.RetryAfterMS) * time.Millisecond, deadline: r.Deadline}
	return incident.IngestResult{}, e.asError()
}

// remoteError is an error the leader's submit returned, as its text.
type remoteError struct {
	msg        string
	retryAfter time.Duration // > 0: transient (RetryAfter)
	deadline   bool          // the commit did not finish in time
}

func (e *remoteError) Error() string { return e.msg }

// Unwrap lets errors.Is(err, context.DeadlineExceeded) see a deadline.
func (e *remoteError) Unwrap() error {
	if e.deadline {
		return context.DeadlineExceeded
	}
	return nil
}

// retryable is a remoteError with a Retry-After: errors.As finds the
// RetryAfter method only on errors that have one.
type retryable struct{ *remoteError }

func (e retryable) RetryAfter() time.Duration { return e.retryAfter }

// asError is the error value to hand to the router.
func (e *remoteError) asError() error {
	if e.retryAfter > 0 {
		return retryable{e}
	}
	return e
}
