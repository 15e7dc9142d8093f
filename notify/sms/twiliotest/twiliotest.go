// Package twiliotest is a fake Twilio Messages API for tests and local
// development. It speaks the real wire format — the path, HTTP basic auth,
// form fields, the Message resource JSON on 201 and Twilio's error JSON
// otherwise — validates recipients as Twilio does (E.164, else 400 with
// error 21211), records every request it receives, and can be scripted to
// fail the next requests with 429, 500 or any Twilio error.
//
// Use NewServer in tests (it listens on a loopback port); mount New's Server
// as an http.Handler to run it inside another program.
package twiliotest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pagerd/pagerd/notify"
)

// Reply is a scripted answer: an HTTP status with Twilio's error JSON.
type Reply struct {
	Status     int    // HTTP status, e.g. 429
	Code       int    // Twilio error code, e.g. 20429
	Message    string // Twilio error message
	RetryAfter string // Retry-After header value; empty sends none
}

// RateLimited is Twilio's 429 (error 20429) with a Retry-After of d.
func RateLimited(d time.Duration) Reply {
	return Reply{Status: http.StatusTooManyRequests, Code: 20429, Message: "Too Many Requests",
		RetryAfter: strconv.Itoa(int(d / time.Second))}
}

// ServerError is a 500 (error 20500).
func ServerError() Reply {
	return Reply{Status: http.StatusInternalServerError, Code: 20500, Message: "Internal Server Error"}
}

// Unsubscribed is Twilio's 400 for a recipient who replied STOP (21610).
func Unsubscribed() Reply {
	return Reply{Status: http.StatusBadRequest, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
}

// Request is one request the server received on the Messages endpoint,
// whatever it answered.
type Request struct {
	At     time.Time
	To     string
	From   string
	Body   string
	Status int    // HTTP status answered
	SID    string // message sid, set when Status is 201
}

// Server is the fake API. Set Now before the first request if the
// date_created values matter; it defaults to time.Now.
type Server struct {
	AccountSID string
	AuthToken  string
	Now        func() time.Time
	// URL is the base URL (channels.sms.api_base) when started by NewServer.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	script   []Reply
	requests []Request
}

// New returns an unstarted Server for accountSID/authToken; it is an
// http.Handler.
func New(accountSID, authToken string) *Server {
	return &Server{AccountSID: accountSID, AuthToken: authToken, Now: time.Now}
}

// NewServer starts a Server on a loopback port. Close it when done.
func NewServer(accountSID, authToken string) *Server {
	s := New(accountSID, authToken)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close stops a server started by NewServer.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// FailNext makes the next n authenticated requests answer r instead of
// being processed. Calls queue up in order.
func (s *Server) FailNext(n int, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.script = append(s.script, r)
	}
}

// Requests returns every request received on the Messages endpoint.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the requests that created a message (HTTP 201).
func (s *Server) Messages() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusCreated {
			out = append(out, r)
		}
	}
	return out
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

// maxBody is Twilio's limit on a message body, in characters.
const maxBody = 1600

// ServeHTTP implements the Messages endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	match := messagesPath.FindStringSubmatch(r.URL.Path)
	if match == nil {
		writeError(w, Reply{Status: 404, Code: 20404, Message: fmt.Sprintf("The requested resource %s was not found", r.URL.Path)})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	_ = r.ParseForm()
	req := Request{At: s.now(), To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
	reply, msg := s.handle(r, match[1], &req)
	req.Status = reply.Status
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if msg != nil {
		writeJSON(w, http.StatusCreated, msg)
		return
	}
	writeError(w, reply)
}

// handle decides the answer: checks in Twilio's order (auth, then the
// script, then the parameters). A nil message means an error reply.
func (s *Server) handle(r *http.Request, pathSID string, req *Request) (Reply, map[string]any) {
	if r.Method != http.MethodPost {
		return Reply{Status: 405, Code: 20004, Message: "Method not allowed"}, nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.AccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.AuthToken)) != 1 {
		return Reply{Status: 401, Code: 20003, Message: "Authenticate"}, nil
	}
	if pathSID != s.AccountSID {
		return Reply{Status: 404, Code: 20404, Message: fmt.Sprintf("The requested resource %s was not found", r.URL.Path)}, nil
	}
	if reply, ok := s.nextScripted(); ok {
		return reply, nil
	}
	if reply, bad := validate(req); bad {
		return reply, nil
	}
	req.SID = newSID("SM")
	return Reply{Status: http.StatusCreated}, s.resource(req)
}

func (s *Server) nextScripted() (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Reply{}, false
	}
	r := s.script[0]
	s.script = s.script[1:]
	return r, true
}

// validate applies Twilio's parameter checks and error codes.
func validate(req *Request) (Reply, bool) {
	switch {
	case req.To == "":
		return Reply{Status: 400, Code: 21604, Message: "A 'To' phone number is required."}, true
	case req.From == "":
		return Reply{Status: 400, Code: 21603, Message: "A 'From' phone number is required."}, true
	case req.Body == "":
		return Reply{Status: 400, Code: 21602, Message: "Message body is required."}, true
	case !e164.MatchString(req.To):
		return Reply{Status: 400, Code: 21211, Message: fmt.Sprintf("The 'To' number %s is not a valid phone number.", req.To)}, true
	case len([]rune(req.Body)) > maxBody:
		return Reply{Status: 400, Code: 21617, Message: "The concatenated message body exceeds the 1600 character limit."}, true
	}
	return Reply{}, false
}

// resource is the Message resource JSON Twilio returns on creation, with
// its field names and string-typed counters.
func (s *Server) resource(req *Request) map[string]any {
	created := req.At.UTC().Format(time.RFC1123Z)
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", s.AccountSID, req.SID)
	return map[string]any{
		"account_sid":           s.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  req.Body,
		"date_created":          created,
		"date_sent":             nil,
		"date_updated":          created,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  req.From,
		"messaging_service_sid": nil,
		"num_media":             "0",
		"num_segments":          strconv.Itoa(notify.SMSSegments(req.Body)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   req.SID,
		"status":                "queued",
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    req.To,
		"uri":                   uri + ".json",
	}
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func writeError(w http.ResponseWriter, r Reply) {
	if r.RetryAfter != "" {
		w.Header().Set("Retry-After", r.RetryAfter)
	}
	if r.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	writeJSON(w, r.Status, map[string]any{
		"code":      r.Code,
		"message":   r.Message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", r.Code),
		"status":    r.Status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newSID returns prefix + 32 lowercase hex digits, Twilio's sid shape.
func newSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return prefix + strings.ToLower(hex.EncodeToString(b[:]))
}
