package smshook

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/reply/replytest"
)

const (
	authToken = "twilio-auth-token-0123"
	publicURL = "https://pager.example.com"
	alice     = "+31612345001"
	bob       = "+31612345002"
	stranger  = "+15550009999"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	be    *replytest.Backend
	h     http.Handler
	clk   *clock
	reg   *prometheus.Registry
	token string
	url   string
	sid   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{be: replytest.New(), clk: &clock{t: t0}, reg: prometheus.NewRegistry(), token: authToken, url: publicURL}
	f.be.Now = f.clk.Now
	f.be.AddUser("alice", alice)
	f.be.AddUser("bob", bob)
	f.be.AddPage(reply.Page{Notification: "n42-1-0", Incident: 42, Title: "HighErrorRate", Service: "checkout",
		Severity: "sev1", User: "alice", Channel: "sms", To: alice, Code: 3, SentAt: t0.Add(-10 * time.Minute)})
	f.h = New(Options{
		AuthToken: func() string { return f.token },
		PublicURL: func() string { return f.url },
		Backend:   f.be,
		Now:       f.clk.Now,
		Metrics:   f.reg,
	})
	return f
}

// form is a Twilio-like inbound message form.
func (f *fixture) form(from, body string) url.Values {
	f.sid++
	return url.Values{
		"MessageSid": {fmt.Sprintf("SM%032d", f.sid)},
		"AccountSid": {"AC0123"},
		"From":       {from},
		"To":         {"+15550000000"},
		"Body":       {body},
		"NumMedia":   {"0"},
	}
}

// post sends form signed for signURL (empty: the configured URL) with sig
// (empty: computed).
func (f *fixture) postSigned(t *testing.T, form url.Values, signURL, sig string) *httptest.ResponseRecorder {
	t.Helper()
	if signURL == "" {
		signURL = publicURL + Path
	}
	if sig == "" {
		sig = reply.TwilioSignature(authToken, signURL, form)
	}
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", sig)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *fixture) post(t *testing.T, form url.Values) string {
	t.Helper()
	w := f.postSigned(t, form, "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Fatalf("Content-Type %q", ct)
	}
	return w.Body.String()
}

// says asserts the TwiML answer is exactly msg ("" for an empty Response).
func says(t *testing.T, got, msg string) {
	t.Helper()
	if want := string(reply.TwiML(msg)); got != want {
		t.Fatalf("answer\n got %s\nwant %s", got, want)
	}
}

func (f *fixture) status(t *testing.T, id uint64) incident.Incident {
	t.Helper()
	inc, ok := f.be.Incident(id)
	if !ok {
		t.Fatalf("no incident %d", id)
	}
	return inc
}

func (f *fixture) count(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pagerd_sms_replies_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestAckWithCodeFromPagedPhone(t *testing.T) {
	f := newFixture(t)
	form := f.form(alice, " 3A ")
	says(t, f.post(t, form), "Acknowledged INC-42 sev1 checkout: HighErrorRate")
	inc := f.status(t, 42)
	if inc.Status != incident.Acknowledged || inc.AcknowledgedBy != "alice" {
		t.Fatalf("incident %s by %q", inc.Status, inc.AcknowledgedBy)
	}
	acts := f.be.Acts()
	want := reply.Request{Channel: "sms", From: alice, User: "alice", Incident: 42, Kind: incident.Ack,
		DedupID: "sms:" + form.Get("MessageSid"), Note: "3A"}
	if len(acts) != 1 || acts[0] != want {
		t.Fatalf("acts = %+v, want %+v", acts, want)
	}
	if got := f.count(t, OutcomeActed); got != 1 {
		t.Fatalf("acted counter = %v", got)
	}
}

func TestResolveAndEscalateWords(t *testing.T) {
	f := newFixture(t)
	says(t, f.post(t, f.form(alice, "3 escalate")), "Escalated INC-42 sev1 checkout: HighErrorRate")
	says(t, f.post(t, f.form(alice, "3r")), "Resolved INC-42 sev1 checkout: HighErrorRate")
	if inc := f.status(t, 42); inc.Status != incident.Resolved || inc.ResolvedBy != "alice" {
		t.Fatalf("incident %s by %q", inc.Status, inc.ResolvedBy)
	}
}

func TestSameCodeFromAnotherPhoneIsRefused(t *testing.T) {
	f := newFixture(t)
	says(t, f.post(t, f.form(bob, "3a")), "No open page with code 3. You have no open pages.")
	if inc := f.status(t, 42); inc.Status != incident.Triggered {
		t.Fatalf("incident %s", inc.Status)
	}
	if n := f.be.ActCalls(); n != 0 {
		t.Fatalf("Act called %d times", n)
	}
	// Bob's own code 3 is a different page; his 3a acts on that one only.
	f.be.AddPage(reply.Page{Notification: "n50-1-0", Incident: 50, Key: "INC-50", User: "bob", Channel: "sms", To: bob, Code: 3})
	says(t, f.post(t, f.form(bob, "3a")), "Acknowledged INC-50")
	if a, b := f.status(t, 42), f.status(t, 50); a.Status != incident.Triggered || b.Status != incident.Acknowledged || b.AcknowledgedBy != "bob" {
		t.Fatalf("INC-42 %s, INC-50 %s by %s", a.Status, b.Status, b.AcknowledgedBy)
	}
}

func TestBadSignatureIs403AndChangesNothing(t *testing.T) {
	f := newFixture(t)
	form := f.form(alice, "3a")
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	good := reply.TwilioSignature(authToken, publicURL+Path, form)
	tampered.Set("Body", "3r")
	cases := map[string]func() *httptest.ResponseRecorder{
		"missing": func() *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			return w
		},
		"other token": func() *httptest.ResponseRecorder {
			return f.postSigned(t, form, "", reply.TwilioSignature("another-token", publicURL+Path, form))
		},
		"other url": func() *httptest.ResponseRecorder {
			return f.postSigned(t, form, "https://evil.example.com"+Path, "")
		},
		"tampered body": func() *httptest.ResponseRecorder { return f.postSigned(t, tampered, "", good) },
		"garbage":       func() *httptest.ResponseRecorder { return f.postSigned(t, form, "", "bm90IGEgc2lnbmF0dXJl") },
	}
	for name, do := range cases {
		t.Run(name, func(t *testing.T) {
			w := do()
			if w.Code != http.StatusForbidden {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			var e map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["error"] == "" {
				t.Fatalf("body %q is not a JSON error (%v)", w.Body, err)
			}
		})
	}
	if inc := f.status(t, 42); inc.Status != incident.Triggered || f.be.ActCalls() != 0 {
		t.Fatalf("incident %s, %d Act calls", inc.Status, f.be.ActCalls())
	}
	if got := f.count(t, OutcomeBadSignature); got != float64(len(cases)) {
		t.Fatalf("bad_signature counter = %v", got)
	}
}

func TestUnconfiguredRefusesEverything(t *testing.T) {
	f := newFixture(t)
	f.token = ""
	if w := f.postSigned(t, f.form(alice, "3a"), "", ""); w.Code != http.StatusForbidden {
		t.Fatalf("status %d", w.Code)
	}
	f.token, f.url = authToken, ""
	if w := f.postSigned(t, f.form(alice, "3a"), "", ""); w.Code != http.StatusForbidden {
		t.Fatalf("status %d", w.Code)
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestSignatureURLVariants(t *testing.T) {
	f := newFixture(t)
	// Twilio signed with the explicit default port.
	w := f.postSigned(t, f.form(alice, "3a"), "https://pager.example.com:443"+Path, "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Acknowledged INC-42") {
		t.Fatalf("explicit :443: %d %s", w.Code, w.Body)
	}
	// A configured trailing slash does not change the signed URL.
	f.url = publicURL + "/"
	w = f.postSigned(t, f.form(alice, "3r"), "", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Resolved INC-42") {
		t.Fatalf("trailing slash: %d %s", w.Code, w.Body)
	}
	// A query string Twilio was given is part of the signed URL.
	form := f.form(alice, "3a")
	r := httptest.NewRequest(http.MethodPost, Path+"?site=ams", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", reply.TwilioSignature(authToken, publicURL+Path+"?site=ams", form))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("query string: %d %s", rec.Code, rec.Body)
	}
}

func TestRetriedMessageSidActsOnce(t *testing.T) {
	f := newFixture(t)
	form := f.form(alice, "3a")
	for i := 0; i < 3; i++ {
		says(t, f.post(t, form), "Acknowledged INC-42 sev1 checkout: HighErrorRate")
	}
	if n := len(f.be.Acts()); n != 1 {
		t.Fatalf("applied %d times", n)
	}
	if got := f.count(t, OutcomeDuplicate); got != 2 {
		t.Fatalf("duplicate counter = %v", got)
	}
	// A new message is not a retry: the second ack is refused by the state.
	ans := f.post(t, f.form(alice, "3a"))
	if !strings.Contains(ans, "Cannot acknowledge INC-42: already acknowledged by alice at 2026-11-21T12:00:00Z.") {
		t.Fatalf("second ack answer %s", ans)
	}
}

func TestAlreadyResolved(t *testing.T) {
	f := newFixture(t)
	says(t, f.post(t, f.form(alice, "3r")), "Resolved INC-42 sev1 checkout: HighErrorRate")
	// The page is no longer open, so the code means nothing any more.
	says(t, f.post(t, f.form(alice, "3a")), "No open page with code 3. You have no open pages.")
	// A race: the page was listed while open, the commit found it resolved.
	ans := commitAnswer(t, f, &racyBackend{Backend: f.be, page: reply.Page{Incident: 42, Key: "INC-42", User: "alice", To: alice, Code: 3}}, "3e")
	if !strings.Contains(ans, "Cannot escalate INC-42: already resolved by alice at 2026-11-21T12:00:00Z.") {
		t.Fatalf("answer %s", ans)
	}
}

// racyBackend lists a page that the state no longer has open.
type racyBackend struct {
	*replytest.Backend
	page reply.Page
}

func (r *racyBackend) PagesForPhone(string) []reply.Page { return []reply.Page{r.page} }

func commitAnswer(t *testing.T, f *fixture, be reply.Backend, body string) string {
	t.Helper()
	saved := f.h
	defer func() { f.h = saved }()
	f.h = New(Options{AuthToken: func() string { return authToken }, PublicURL: func() string { return publicURL }, Backend: be})
	return f.post(t, f.form(alice, body))
}

func TestStopStart(t *testing.T) {
	f := newFixture(t)
	stop := f.form(alice, "STOP")
	says(t, f.post(t, stop), "pagerd will no longer send SMS pages to this phone. Reply START to turn them back on.")
	if !f.be.OptedOut(alice) {
		t.Fatal("not opted out")
	}
	says(t, f.post(t, stop), "pagerd will no longer send SMS pages to this phone. Reply START to turn them back on.")
	start := f.form(alice, "start")
	says(t, f.post(t, start), "pagerd SMS pages to this phone are on again.")
	if f.be.OptedOut(alice) {
		t.Fatal("still opted out")
	}
	want := []replytest.OptOutCall{
		{Phone: alice, Off: true, DedupID: "sms:" + stop.Get("MessageSid")},
		{Phone: alice, Off: false, DedupID: "sms:" + start.Get("MessageSid")},
	}
	got := f.be.OptOutCalls()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("opt-out calls %+v, want %+v", got, want)
	}
	// From an unknown number: nothing recorded, no answer.
	says(t, f.post(t, f.form(stranger, "STOP")), "")
	if len(f.be.OptOutCalls()) != 2 {
		t.Fatal("unknown number opted out")
	}
	// Transient.
	f.be.SetTransient(true)
	says(t, f.post(t, f.form(alice, "stop")), TransientAnswer)
	if f.be.OptedOut(alice) {
		t.Fatal("transient STOP recorded")
	}
}

func TestBareAckActsOnLatestPage(t *testing.T) {
	f := newFixture(t)
	f.be.AddPage(reply.Page{Notification: "n43-1-0", Incident: 43, Title: "DiskFull", Service: "db", Severity: "sev2",
		User: "alice", Channel: "sms", To: alice, Code: 1, SentAt: t0.Add(-time.Minute)})
	says(t, f.post(t, f.form(alice, "ack")), "Acknowledged INC-43 sev2 db: DiskFull")
	if a, b := f.status(t, 42), f.status(t, 43); a.Status != incident.Triggered || b.Status != incident.Acknowledged {
		t.Fatalf("INC-42 %s, INC-43 %s", a.Status, b.Status)
	}
	// The latest *open* page: INC-43 resolved, a bare "a" now means INC-42.
	says(t, f.post(t, f.form(alice, "1r")), "Resolved INC-43 sev2 db: DiskFull")
	says(t, f.post(t, f.form(alice, "a")), "Acknowledged INC-42 sev1 checkout: HighErrorRate")
	says(t, f.post(t, f.form(bob, "a")), "You have no open pages.")
}

func TestUnknownCodeListsOpenPages(t *testing.T) {
	f := newFixture(t)
	f.be.AddPage(reply.Page{Notification: "n43-1-0", Incident: 43, User: "alice", Channel: "sms", To: alice, Code: 1, SentAt: t0})
	says(t, f.post(t, f.form(alice, "7a")), "No open page with code 7. Your open pages: 1 = INC-43, 3 = INC-42")
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
	for i := 0; i < 6; i++ {
		f.be.AddPage(reply.Page{Notification: "n6" + string(rune('0'+i)), Incident: uint64(60 + i), User: "alice",
			Channel: "sms", To: alice, Code: 10 + i, SentAt: t0.Add(time.Duration(i+1) * time.Second)})
	}
	says(t, f.post(t, f.form(alice, "7a")),
		"No open page with code 7. Your open pages: 15 = INC-65, 14 = INC-64, 13 = INC-63, 12 = INC-62, 11 = INC-61, +3 more")
}

func TestUnrecognisedAnswersHelp(t *testing.T) {
	f := newFixture(t)
	practice := func(c string) string {
		return " Also " + c + "s1/" + c + "s2/" + c + "s3 sets the severity, " + c + "im/" + c + "tl/" + c + "cm takes a role, " +
			c + "u TEXT posts an internal update, " + c + "p TEXT a public one."
	}
	says(t, f.post(t, f.form(alice, "hello")),
		`Unrecognised reply "hello". Reply 3a to acknowledge, 3r to resolve, 3e to escalate INC-42.`+practice("3"))
	says(t, f.post(t, f.form(alice, "HELP")), `Reply 3a to acknowledge, 3r to resolve, 3e to escalate INC-42.`+practice("3"))
	says(t, f.post(t, f.form(alice, "info")), `Reply 3a to acknowledge, 3r to resolve, 3e to escalate INC-42.`+practice("3"))
	says(t, f.post(t, f.form(bob, "help")), `You have no open pages. Each page SMS says its code: reply e.g. 1a to acknowledge, 1r to resolve, 1e to escalate.`+
		practice("1")+` STOP turns SMS pages off.`)
	says(t, f.post(t, f.form(alice, "3x")),
		`Unrecognised reply "3x". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`)
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestUnknownNumberIsRateLimitedAndNeverActs(t *testing.T) {
	f := newFixture(t)
	// The stranger knows code 3, which is alice's.
	says(t, f.post(t, f.form(stranger, "3a")), UnknownNumberAnswer)
	says(t, f.post(t, f.form(stranger, "3a")), "")
	says(t, f.post(t, f.form(stranger, "hello")), "")
	says(t, f.post(t, f.form("+15550001111", "3a")), UnknownNumberAnswer)
	f.clk.Add(UnknownNumberInterval - time.Second)
	says(t, f.post(t, f.form(stranger, "3a")), "")
	f.clk.Add(time.Second)
	says(t, f.post(t, f.form(stranger, "3a")), UnknownNumberAnswer)
	if f.be.ActCalls() != 0 || f.status(t, 42).Status != incident.Triggered {
		t.Fatal("an unknown number acted")
	}
	if got := f.count(t, OutcomeUnknownNumber); got != 6 {
		t.Fatalf("unknown_number counter = %v", got)
	}
}

func TestTransientThenRetry(t *testing.T) {
	f := newFixture(t)
	form := f.form(alice, "3a")
	f.be.SetTransient(true)
	says(t, f.post(t, form), TransientAnswer)
	if f.status(t, 42).Status != incident.Triggered {
		t.Fatal("changed while transient")
	}
	f.be.SetTransient(false)
	// The person sends it again (a new message).
	says(t, f.post(t, f.form(alice, "3a")), "Acknowledged INC-42 sev1 checkout: HighErrorRate")
	if got := f.count(t, OutcomeTransient); got != 1 {
		t.Fatalf("transient counter = %v", got)
	}
}

func TestRequestShape(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest(http.MethodGet, Path, nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d %v", w.Code, w.Header())
	}
	big := url.Values{"From": {alice}, "Body": {strings.Repeat("x", MaxBodyBytes)}}
	w = f.postSigned(t, big, "", "")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big: %d", w.Code)
	}
	noFrom := url.Values{"Body": {"3a"}, "MessageSid": {"SMx"}}
	w = f.postSigned(t, noFrom, "", "")
	if w.Code != http.StatusBadRequest {
		t.Fatalf("no From: %d", w.Code)
	}
	body, _ := io.ReadAll(w.Body)
	if !strings.Contains(string(body), `"error"`) {
		t.Fatalf("no From body %s", body)
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestLongTitleIsShortened(t *testing.T) {
	f := newFixture(t)
	f.be.AddPage(reply.Page{Notification: "n44-1-0", Incident: 44, Title: strings.Repeat("Ü", 100) + "\nmore",
		User: "alice", Channel: "sms", To: alice, Code: 5})
	ans := f.post(t, f.form(alice, "5a"))
	if !strings.Contains(ans, "Acknowledged INC-44: "+strings.Repeat("Ü", maxTitleRunes)+"…<") {
		t.Fatalf("answer %s", ans)
	}
}

// Spec §5.5: "3s3" sets the severity as the paged user.
func TestSeverityReply(t *testing.T) {
	f := newFixture(t)
	says(t, f.post(t, f.form(alice, "3s3")), "Severity set: INC-42 sev3 checkout: HighErrorRate")
	inc := f.status(t, 42)
	if inc.Severity != "sev3" || inc.SeveritySetBy != "alice" || inc.Status != incident.Triggered {
		t.Fatalf("incident %s set by %q, %s", inc.Severity, inc.SeveritySetBy, inc.Status)
	}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0].Kind != reply.ActionSeverity || acts[0].Severity != "sev3" {
		t.Fatalf("acts = %+v", acts)
	}
}

// A node that has not caught up answers 503 with Retry-After before it checks
// the signature against its possibly stale auth_token, and acts on nothing.
func TestNotCaughtUpIs503BeforeSignature(t *testing.T) {
	f := newFixture(t)
	caughtUp := false
	f.h = New(Options{
		AuthToken: func() string { return f.token },
		PublicURL: func() string { return f.url },
		Backend:   f.be,
		Now:       f.clk.Now,
		Metrics:   f.reg,
		CaughtUp:  func() bool { return caughtUp },
	})
	form := f.form(alice, "3a")
	for _, sig := range []string{"bm90IGEgc2lnbmF0dXJl", ""} {
		w := f.postSigned(t, form, "", sig)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Fatalf("signature %q: status %d, Retry-After %q, body %s", sig, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if f.be.ActCalls() != 0 {
		t.Fatalf("%d Act calls while catching up", f.be.ActCalls())
	}
	caughtUp = true
	if w := f.postSigned(t, form, "", ""); w.Code != http.StatusOK {
		t.Fatalf("caught up: status %d, body %s", w.Code, w.Body)
	}
	if inc := f.status(t, 42); inc.Status != incident.Acknowledged {
		t.Fatalf("incident %s after catching up", inc.Status)
	}
}
