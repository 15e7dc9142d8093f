package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/webhook"
)

// clock returns a Now that starts at a fixed instant in a non-UTC zone and
// advances 1ms per call, so every message has a distinct, known time.
func clock() func() time.Time {
	start := time.Date(2026, 11, 25, 19, 0, 5, 123456789, time.FixedZone("CET", 3600))
	var calls atomic.Int64
	return func() time.Time {
		return start.Add(time.Duration(calls.Add(1)-1) * time.Millisecond)
	}
}

// at is what clock's n-th call (1-based) looks like in the JSON.
func at(n int) string {
	return time.Date(2026, 11, 25, 18, 0, 5, 123456789, time.UTC).Add(time.Duration(n-1) * time.Millisecond).Format(time.RFC3339Nano)
}

func inc42() *incident.Incident {
	return &incident.Incident{
		ID: 42, Key: "INC-42", Title: "HighErrorRate", Service: "checkout",
		Severity: "sev1", Status: incident.Triggered, DedupKey: "checkout-errors",
		AlertCount: 1,
		Alerts: []incident.Alert{{
			Fingerprint: "abc", Status: "firing",
			Labels: map[string]string{"alertname": "HighErrorRate", "service": "checkout"},
		}},
	}
}

func alice() config.User {
	return config.User{ID: "alice", Name: "Alice Jansen", Email: "alice@example.com", Phone: "+31612345001"}
}

func page(id string) *notify.Message {
	return &notify.Message{
		ID: id, Incident: inc42(), User: alice(), Step: 1, Loop: 2,
		ReplyCode: "3", ReplyTo: "r-tok@pager.example.com",
	}
}

func newOutbox(opts Options) *Outbox {
	if opts.Now == nil {
		opts.Now = clock()
	}
	if opts.Node == "" {
		opts.Node = "n1"
	}
	return New(opts)
}

func send(t *testing.T, s notify.Sender, m *notify.Message) notify.Receipt {
	t.Helper()
	r, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send(%s): %v", m.ID, err)
	}
	return r
}

// get performs a request against the handler and returns the recorder.
func do(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// listJSON fetches the JSON outbox and decodes it generically, so the test
// sees exactly the keys on the wire.
func listJSON(t *testing.T, o *Outbox, query string) map[string]any {
	t.Helper()
	rec := do(t, o.Handler(), "GET", "/dev/outbox?format=json"+query, nil, nil)
	if rec.Code != 200 {
		t.Fatalf("GET: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

// normal round-trips v through JSON so numbers compare as float64.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkMessage(t *testing.T, got any, want map[string]any) {
	t.Helper()
	if w := normal(t, want); !reflect.DeepEqual(got, w) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("message JSON\n got %s\nwant %s", gb, wb)
	}
}

func messagesOf(t *testing.T, v map[string]any) []any {
	t.Helper()
	msgs, ok := v["messages"].([]any)
	if !ok {
		t.Fatalf("messages is %T, want an array", v["messages"])
	}
	return msgs
}

func TestEmailJSONShape(t *testing.T) {
	o := newOutbox(Options{EmailFrom: "pagerd <pagerd@example.com>"})
	m := page("n42-1-0")
	r := send(t, o.Sender("email"), m)
	if want := "<" + email.MessageID("n42-1-0", "example.com") + ">"; r.ProviderID != want {
		t.Errorf("ProviderID %q, want %q (the real sender's Message-ID)", r.ProviderID, want)
	}
	v := listJSON(t, o, "")
	if len(v) != 3 || v["node"] != "n1" || v["dropped"] != float64(0) {
		t.Errorf("top level %v, want exactly node n1, dropped 0, messages", v)
	}
	msgs := messagesOf(t, v)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	checkMessage(t, msgs[0], map[string]any{
		"seq": 1, "id": "n42-1-0", "channel": "email", "to": "alice@example.com", "user": "alice",
		"subject": notify.EmailSubject(m), "body": notify.EmailBody(m),
		"reply_to": "r-tok@pager.example.com", "reply_code": "3",
		"incidents": []string{"INC-42"}, "notifications": []string{"n42-1-0"},
		"step": 1, "loop": 2, "summary": false, "node": "n1", "at": at(1),
	})
	if s := notify.EmailSubject(m); s != "[INC-42] sev1 checkout: HighErrorRate" {
		t.Errorf("subject %q", s)
	}
}

func TestJSONFieldOrderIsStable(t *testing.T) {
	o := newOutbox(Options{})
	send(t, o.Sender("sms"), page("n42-1-0"))
	b, err := json.Marshal(o.Messages(0)[0])
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range regexp.MustCompile(`"([a-z_]+)":`).FindAllStringSubmatch(string(b), -1) {
		keys = append(keys, m[1])
	}
	want := []string{"seq", "id", "channel", "to", "user", "subject", "body", "reply_to", "reply_code",
		"incidents", "notifications", "step", "loop", "summary", "node", "at"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v\nwant %v", keys, want)
	}
}

func TestSMSJSONShape(t *testing.T) {
	o := newOutbox(Options{Node: "n2"})
	send(t, o.Sender("email"), page("n42-1-0"))
	m := page("n42-1-1")
	m.ReplyTo = ""
	r := send(t, o.Sender("sms"), m)
	if r.ProviderID != "SMdev2" {
		t.Errorf("ProviderID %q, want SMdev2", r.ProviderID)
	}
	msgs := messagesOf(t, listJSON(t, o, ""))
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	body := "INC-42 sev1 checkout: HighErrorRate - 1 alert. Reply 3a to ack, 3r to resolve, 3e to escalate"
	if notify.SMSBody(m) != body {
		t.Fatalf("SMSBody changed: %q", notify.SMSBody(m))
	}
	checkMessage(t, msgs[1], map[string]any{
		"seq": 2, "id": "n42-1-1", "channel": "sms", "to": "+31612345001", "user": "alice",
		"subject": "", "body": body, "reply_to": "", "reply_code": "3",
		"incidents": []string{"INC-42"}, "notifications": []string{"n42-1-1"},
		"step": 1, "loop": 2, "summary": false, "node": "n2", "at": at(2),
	})
}

func TestWebhookJSONShape(t *testing.T) {
	o := newOutbox(Options{})
	m := &notify.Message{ID: "n42-2-0", Incident: inc42(), Step: 2}
	r := send(t, o.WebhookSender("chatops"), m)
	if r.ProviderID != "n42-2-0" {
		t.Errorf("ProviderID %q", r.ProviderID)
	}
	send(t, o.Sender("webhook"), &notify.Message{ID: "n42-2-1", Incident: inc42()})
	msgs := messagesOf(t, listJSON(t, o, ""))
	checkMessage(t, msgs[0], map[string]any{
		"seq": 1, "id": "n42-2-0", "channel": "webhook", "to": "chatops", "user": "",
		"subject":  "",
		"body":     realWebhookBody(t, m, atTime(1)),
		"reply_to": "", "reply_code": "",
		"incidents": []string{"INC-42"}, "notifications": []string{"n42-2-0"},
		"step": 2, "loop": 0, "summary": false, "node": "n1", "at": at(1),
	})
	if to := msgs[1].(map[string]any)["to"]; to != "" {
		t.Errorf(`Sender("webhook") to = %q, want ""`, to)
	}
}

func TestSummaryJSONShape(t *testing.T) {
	o := newOutbox(Options{})
	i1, i2 := inc42(), &incident.Incident{ID: 43, Title: "DiskFull", Severity: "sev2", Service: "db"} // no Key: derived
	m := &notify.Message{
		ID: "s-alice-7", Incident: i2, User: alice(), Summary: []*incident.Incident{i1, nil, i2},
		Bundled: []string{"n42-1-0", "n43-0-0"}, ReplyCode: "", Step: 0, Loop: 0,
	}
	send(t, o.Sender("sms"), m)
	noBundle := *m
	noBundle.ID, noBundle.Bundled = "s-alice-8", nil
	send(t, o.Sender("email"), &noBundle)
	hook := *m
	hook.ID = "s-hook-9"
	send(t, o.WebhookSender("chatops"), &hook)

	msgs := messagesOf(t, listJSON(t, o, ""))
	checkMessage(t, msgs[0], map[string]any{
		"seq": 1, "id": "s-alice-7", "channel": "sms", "to": "+31612345001", "user": "alice",
		"subject": "", "body": notify.SMSBody(m), "reply_to": "", "reply_code": "",
		"incidents": []string{"INC-42", "INC-43"}, "notifications": []string{"n42-1-0", "n43-0-0"},
		"step": 0, "loop": 0, "summary": true, "node": "n1", "at": at(1),
	})
	if !strings.HasPrefix(notify.SMSBody(m), "pagerd: 2 incidents: INC-42") {
		t.Errorf("summary SMS body %q", notify.SMSBody(m))
	}
	got := msgs[1].(map[string]any)
	if !reflect.DeepEqual(got["notifications"], []any{"s-alice-8"}) || got["summary"] != true ||
		got["subject"] != notify.EmailSubject(&noBundle) {
		t.Errorf("summary without Bundled: %v", got)
	}
	wantBody := realWebhookBody(t, &hook, atTime(3))
	if b := msgs[2].(map[string]any)["body"]; b != wantBody {
		t.Errorf("webhook summary body\n got %s\nwant %s", b, wantBody)
	}
}

func TestEmptyListIsArrays(t *testing.T) {
	o := newOutbox(Options{})
	rec := do(t, o.Handler(), "GET", "/dev/outbox?format=json", nil, nil)
	if got := strings.TrimSpace(rec.Body.String()); got != `{"node":"n1","dropped":0,"messages":[]}` {
		t.Errorf("empty outbox: %s", got)
	}
	send(t, o.Sender("webhook"), &notify.Message{ID: "x"}) // no incident at all
	m := o.Messages(0)[0]
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"incidents":[],"notifications":["x"]`) {
		t.Errorf("no incident: %s", b)
	}
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	o := newOutbox(Options{})
	noEmail, noPhone := page("a"), page("b")
	noEmail.User.Email, noPhone.User.Phone = "", " "
	cases := []struct {
		name    string
		channel string
		m       *notify.Message
	}{
		{"nil email", "email", nil},
		{"nil sms", "sms", nil},
		{"nil webhook", "webhook", nil},
		{"no id email", "email", page("")},
		{"no id sms", "sms", page("")},
		{"no id webhook", "webhook", page("")},
		{"no email", "email", noEmail},
		{"no phone", "sms", noPhone},
	}
	for _, c := range cases {
		_, err := o.Sender(c.channel).Send(context.Background(), c.m)
		if err == nil || notify.IsRetryable(err) {
			t.Errorf("%s: err %v, want a permanent error", c.name, err)
		}
	}
	if o.Len() != 0 {
		t.Errorf("invalid messages were kept: %d", o.Len())
	}
	// An SMS user without email and an email user without phone are fine.
	send(t, o.Sender("sms"), noEmail)
	send(t, o.Sender("email"), noPhone)
}

func TestSenderPanicsOnUnknownChannel(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(Options{}).Sender("pigeon")
}

func TestDefaults(t *testing.T) {
	o := New(Options{})
	if o.max != DefaultMax || o.domain != "localhost" {
		t.Errorf("max %d domain %q", o.max, o.domain)
	}
	r := send(t, o.Sender("email"), page("n1-0-0"))
	if r.ProviderID != "<n1-0-0@localhost>" {
		t.Errorf("ProviderID %q", r.ProviderID)
	}
	m := o.Messages(0)[0]
	if m.At.IsZero() || m.At.Location() != time.UTC || time.Since(m.At) > time.Minute {
		t.Errorf("default clock: at %v", m.At)
	}
	for from, want := range map[string]string{"no-domain": "localhost", "x@": "localhost", "Pager <p@ops.example.org>": "ops.example.org"} {
		if got := fromDomain(from); got != want {
			t.Errorf("fromDomain(%q) = %q, want %q", from, got, want)
		}
	}
}

func TestRingEvictionAndDropped(t *testing.T) {
	o := newOutbox(Options{Max: 3})
	s := o.Sender("sms")
	for i := 1; i <= 5; i++ {
		send(t, s, page(fmt.Sprintf("n%d", i)))
	}
	if o.Len() != 3 || o.Dropped() != 2 {
		t.Fatalf("Len %d Dropped %d, want 3 and 2", o.Len(), o.Dropped())
	}
	seqs := func(ms []Message) (out []uint64) {
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	for since, want := range map[uint64][]uint64{0: {3, 4, 5}, 1: {3, 4, 5}, 3: {4, 5}, 4: {5}, 5: nil, 99: nil} {
		if got := seqs(o.Messages(since)); !reflect.DeepEqual(got, want) {
			t.Errorf("Messages(%d) = %v, want %v", since, got, want)
		}
	}
	if ids := o.Messages(0); ids[0].ID != "n3" || ids[2].ID != "n5" {
		t.Errorf("kept %v", ids)
	}
	v := listJSON(t, o, "")
	if v["dropped"] != float64(2) || len(messagesOf(t, v)) != 3 {
		t.Errorf("JSON: %v", v)
	}
	html := do(t, o.Handler(), "GET", "/dev/outbox", nil, nil).Body.String()
	if !strings.Contains(html, "2 older dropped") {
		t.Errorf("HTML does not show the dropped count")
	}
	// Keep going around the ring more than once.
	for i := 6; i <= 11; i++ {
		send(t, s, page(fmt.Sprintf("n%d", i)))
	}
	if got := seqs(o.Messages(0)); !reflect.DeepEqual(got, []uint64{9, 10, 11}) || o.Dropped() != 8 {
		t.Errorf("after wrap: %v dropped %d", got, o.Dropped())
	}
	if _, err := o.lookup(8); err == nil {
		t.Error("lookup of a dropped seq succeeded")
	}
	if m, err := o.lookup(10); err != nil || m.ID != "n10" {
		t.Errorf("lookup(10) = %v, %v", m.ID, err)
	}
}

func TestMessagesReturnsCopies(t *testing.T) {
	o := newOutbox(Options{})
	send(t, o.Sender("sms"), page("n1"))
	ms := o.Messages(0)
	ms[0].Incidents[0] = "changed"
	ms[0].Notifications[0] = "changed"
	if m := o.Messages(0)[0]; m.Incidents[0] != "INC-42" || m.Notifications[0] != "n1" {
		t.Errorf("outbox changed through a returned message: %v", m)
	}
}

func TestFilters(t *testing.T) {
	o := newOutbox(Options{})
	send(t, o.Sender("email"), page("e1"))
	send(t, o.Sender("sms"), page("s2"))
	send(t, o.WebhookSender("chatops"), page("w3"))
	send(t, o.Sender("sms"), page("s4"))
	ids := func(query string) (out []string) {
		for _, m := range messagesOf(t, listJSON(t, o, query)) {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		return out
	}
	for q, want := range map[string][]string{
		"":                       {"e1", "s2", "w3", "s4"},
		"&since=0":               {"e1", "s2", "w3", "s4"},
		"&since=2":               {"w3", "s4"},
		"&since=4":               nil,
		"&channel=sms":           {"s2", "s4"},
		"&channel=email":         {"e1"},
		"&channel=webhook":       {"w3"},
		"&channel=sms&since=2":   {"s4"},
		"&channel=email&since=1": nil,
	} {
		if got := ids(q); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	// Accept: application/json selects JSON as well.
	rec := do(t, o.Handler(), "GET", "/dev/outbox?channel=email", nil, map[string]string{"Accept": "text/plain;q=0.5, application/json"})
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"id":"e1"`) {
		t.Errorf("Accept JSON: %s %s", rec.Header().Get("Content-Type"), rec.Body)
	}
	// format=html wins over Accept.
	rec = do(t, o.Handler(), "GET", "/dev/outbox?format=html", nil, map[string]string{"Accept": "application/json"})
	if rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("format=html: %s", rec.Header().Get("Content-Type"))
	}
	// HTML filters too, newest first.
	html := do(t, o.Handler(), "GET", "/dev/outbox?channel=sms", nil, nil).Body.String()
	i4, i2 := strings.Index(html, `id="m4"`), strings.Index(html, `id="m2"`)
	if i4 < 0 || i2 < 0 || i4 > i2 || strings.Contains(html, `id="m1"`) {
		t.Errorf("HTML channel filter / order wrong (m4 at %d, m2 at %d)", i4, i2)
	}
	for _, q := range []string{"since=-1", "since=x", "channel=fax", "format=xml"} {
		rec := do(t, o.Handler(), "GET", "/dev/outbox?"+q, nil, nil)
		field, _, _ := strings.Cut(q, "=")
		if rec.Code != 400 || !strings.Contains(errorOf(t, rec), field+":") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	var v map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || len(v) != 1 {
		t.Errorf("error body %q is not {\"error\":...}", rec.Body)
	}
	return v["error"]
}

func TestHTMLEscapesAlertText(t *testing.T) {
	o := newOutbox(Options{Reply: func(context.Context, Message, string) (string, error) { return "", nil }})
	m := page("n<b>1")
	m.Incident.Title = `<script>alert("x")</script>`
	m.Incident.Alerts[0].Annotations = map[string]string{"description": `<img src=x onerror=alert(1)>`}
	m.User.Email = `"<i>"@example.com`
	send(t, o.Sender("email"), m)
	send(t, o.Sender("sms"), m)
	rec := do(t, o.Handler(), "GET", "/dev/outbox", nil, nil)
	html := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, bad := range []string{"<script>alert", "<img src", "<b>1", "<i>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("escaped title missing from\n%s", html)
	}
	// The flash shown after a reply is escaped as well.
	html = do(t, o.Handler(), "GET", "/dev/outbox?replied=1&answer="+url.QueryEscape("<script>x</script>"), nil, nil).Body.String()
	if strings.Contains(html, "<script>x") || !strings.Contains(html, "&lt;script&gt;x") {
		t.Error("flash answer not escaped")
	}
}

var (
	msgIDRE = regexp.MustCompile(`^(\d+)">`)
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]+)">\s*<input type="hidden" name="seq" value="(\d+)">\s*<input type="text" name="text"[^>]*>\s*<button type="submit">Send</button>\s*</form>`)
)

func TestReplyForm(t *testing.T) {
	type call struct {
		m    Message
		text string
	}
	var got []call
	o := newOutbox(Options{Reply: func(ctx context.Context, m Message, text string) (string, error) {
		if ctx == nil {
			t.Error("nil ctx")
		}
		got = append(got, call{m, text})
		return "INC-42 acknowledged by alice", nil
	}})
	send(t, o.Sender("sms"), page("n42-1-0"))
	send(t, o.Sender("email"), page("n42-1-1"))
	send(t, o.WebhookSender("chatops"), page("n42-1-2"))
	h := o.Handler()

	html := do(t, h, "GET", "/dev/outbox", nil, nil).Body.String()
	forms := map[string]string{} // message seq -> seq field of its form
	for _, chunk := range strings.Split(html, `<div class="msg" id="m`)[1:] {
		id := msgIDRE.FindStringSubmatch(chunk)
		if id == nil {
			t.Fatalf("message block without id: %.80s", chunk)
		}
		if f := formRE.FindStringSubmatch(chunk); f != nil {
			if f[1] != "/dev/outbox/reply" {
				t.Errorf("form action %q", f[1])
			}
			forms[id[1]] = f[2]
		}
	}
	if want := map[string]string{"1": "1", "2": "2"}; !reflect.DeepEqual(forms, want) {
		t.Fatalf("reply forms %v, want one on the sms and the email message only\n%s", forms, html)
	}
	if !strings.Contains(html, `placeholder="3a"`) {
		t.Error("SMS reply form does not hint the reply code")
	}

	// A browser posts the form and is redirected to the page showing the answer.
	form := url.Values{"seq": {"1"}, "text": {"3a"}}
	rec := do(t, h, "POST", "/dev/outbox/reply", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	if len(got) != 1 || got[0].text != "3a" || got[0].m.Seq != 1 || got[0].m.ID != "n42-1-0" ||
		got[0].m.Channel != "sms" || got[0].m.To != "+31612345001" || got[0].m.ReplyCode != "3" {
		t.Fatalf("Reply got %+v", got)
	}
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, "/dev/outbox?") {
		t.Fatalf("Location %q", loc)
	}
	if !strings.HasSuffix(loc, "#m1") {
		t.Errorf("Location %q does not point at the message", loc)
	}
	loc, _, _ = strings.Cut(loc, "#") // a browser keeps the fragment to itself
	html = do(t, h, "GET", loc, nil, nil).Body.String()
	if !strings.Contains(html, "Reply to #1: INC-42 acknowledged by alice") {
		t.Errorf("answer not shown after redirect (%s)", loc)
	}

	// A JSON caller gets the answer directly.
	form = url.Values{"seq": {"2"}, "text": {"resolve\nfixed it"}}
	rec = do(t, h, "POST", "/dev/outbox/reply", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"})
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"answer":"INC-42 acknowledged by alice"}` {
		t.Errorf("JSON reply: %d %s", rec.Code, rec.Body)
	}
	if len(got) != 2 || got[1].m.Seq != 2 || got[1].m.Channel != "email" || got[1].m.ReplyTo != "r-tok@pager.example.com" || got[1].text != "resolve\nfixed it" {
		t.Errorf("Reply got %+v", got[1:])
	}
}

// Without seq, channel (and user) pick the newest message of that channel
// that takes replies, whatever else was kept in between (the dev quick start
// does not need to know the seq).
func TestReplyToNewestOfChannel(t *testing.T) {
	var got []Message
	o := newOutbox(Options{Reply: func(_ context.Context, m Message, _ string) (string, error) {
		got = append(got, m)
		return "ok", nil
	}})
	send(t, o.Sender("email"), page("n1-1-0"))
	send(t, o.Sender("email"), page("n2-1-0"))
	send(t, o.WebhookSender("chatops"), page("n2-1-1"))
	send(t, o.Sender("sms"), page("n2-1-2"))
	h := o.Handler()
	for _, c := range []struct{ form, wantID string }{
		{"channel=email&text=ack", "n2-1-0"},
		{"channel=sms&user=alice&text=3a", "n2-1-2"},
	} {
		rec := do(t, h, "POST", "/dev/outbox/reply", strings.NewReader(c.form),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
		if rec.Code != 200 || len(got) == 0 || got[len(got)-1].ID != c.wantID {
			t.Fatalf("%s: %d %s, replied to %+v, want %s", c.form, rec.Code, rec.Body, got, c.wantID)
		}
	}
}

func TestReplyFormHiddenWhenNotWired(t *testing.T) {
	o := newOutbox(Options{})
	send(t, o.Sender("sms"), page("n1"))
	html := do(t, o.Handler(), "GET", "/dev/outbox", nil, nil).Body.String()
	if strings.Contains(html, "<form") || !strings.Contains(html, "Replies are not wired") {
		t.Error("unwired outbox shows a reply form or no note")
	}
}

type retryLater struct{}

func (retryLater) Error() string             { return "no leader" }
func (retryLater) RetryAfter() time.Duration { return 1500 * time.Millisecond }

func TestReplyErrors(t *testing.T) {
	wired := newOutbox(Options{Reply: func(_ context.Context, m Message, text string) (string, error) {
		switch text {
		case "boom":
			return "", errors.New("boom")
		case "later":
			return "", fmt.Errorf("commit: %w", retryLater{})
		}
		return "ok", nil
	}})
	send(t, wired.Sender("sms"), page("n1"))
	send(t, wired.WebhookSender("chatops"), page("n2"))
	unwired := newOutbox(Options{})
	send(t, unwired.Sender("sms"), page("n1"))
	formCT := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	post := func(o *Outbox, body string, hdr map[string]string) *httptest.ResponseRecorder {
		return do(t, o.Handler(), "POST", "/dev/outbox/reply", strings.NewReader(body), hdr)
	}
	cases := []struct {
		name   string
		rec    *httptest.ResponseRecorder
		status int
		err    string // exact, or a substring when it ends in "…"
	}{
		{"unknown seq", post(wired, "seq=99&text=3a", formCT), 404, "no message with seq 99"},
		{"missing text", post(wired, "seq=1", formCT), 400, "text: required"},
		{"blank text", post(wired, "seq=1&text=+", formCT), 400, "text: required"},
		{"missing seq", post(wired, "text=3a", formCT), 400, "seq: required…"},
		{"webhook channel", post(wired, "channel=webhook&text=3a", formCT), 400, "channel: \"webhook\" is not email or sms…"},
		{"no email", post(wired, "channel=email&text=ack", formCT), 404, "no email message takes replies"},
		{"no such user", post(wired, "channel=sms&user=zoe&text=3a", formCT), 404, "no sms message to user \"zoe\" takes replies"},
		{"bad seq", post(wired, "seq=one&text=3a", formCT), 400, "seq: …"},
		{"zero seq", post(wired, "seq=0&text=3a", formCT), 400, "seq: …"},
		{"webhook", post(wired, "seq=2&text=ack", formCT), 400, "seq: message 2 is a webhook message…"},
		{"json body", post(wired, `{"seq":1,"text":"3a"}`, map[string]string{"Content-Type": "application/json"}), 415, "Content-Type: …"},
		{"not wired", post(unwired, "seq=1&text=3a", formCT), 501, "replies are not wired"},
		{"reply error", post(wired, "seq=1&text=boom", formCT), 500, "reply to message 1: boom"},
		{"reply later", post(wired, "seq=1&text=later", formCT), 503, "reply to message 1: commit: no leader"},
		{"too big", post(wired, "seq=1&text="+strings.Repeat("a", maxReplyForm), formCT), 413, "form over…"},
		{"cross origin", post(wired, "seq=1&text=3a", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}), 403, "cross-origin request refused"},
		{"GET reply", do(t, wired.Handler(), "GET", "/dev/outbox/reply", nil, nil), 405, "method GET not allowed on /dev/outbox/reply; use POST"},
		{"POST list", do(t, wired.Handler(), "POST", "/dev/outbox", strings.NewReader("seq=1&text=3a"), formCT), 405, "method POST not allowed on /dev/outbox; use GET"},
		{"DELETE list", do(t, wired.Handler(), "DELETE", "/dev/outbox", nil, nil), 405, "method DELETE not allowed on /dev/outbox; use GET"},
		{"other path", do(t, wired.Handler(), "GET", "/dev/outbox/x", nil, nil), 404, "not found: /dev/outbox/x"},
	}
	for _, c := range cases {
		if c.rec.Code != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, c.rec.Code, c.status, c.rec.Body)
			continue
		}
		msg := errorOf(t, c.rec)
		if prefix, ok := strings.CutSuffix(c.err, "…"); ok {
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("%s: error %q, want prefix %q", c.name, msg, prefix)
			}
		} else if msg != c.err {
			t.Errorf("%s: error %q, want %q", c.name, msg, c.err)
		}
	}
	if a := cases[16].rec.Header().Get("Allow"); a != "POST" {
		t.Errorf("Allow on reply: %q", a)
	}
	if a := cases[17].rec.Header().Get("Allow"); a != "GET, HEAD" {
		t.Errorf("Allow on list: %q", a)
	}
	if ra := cases[13].rec.Header().Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2", ra)
	}
}

func TestConcurrentSenders(t *testing.T) {
	const workers, each, max = 8, 250, 1000
	o := newOutbox(Options{Max: max})
	h := o.Handler()
	senders := []notify.Sender{o.Sender("email"), o.Sender("sms"), o.WebhookSender("chatops")}
	var wg sync.WaitGroup
	var smsIDs sync.Map
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				s := senders[(w+i)%len(senders)]
				r, err := s.Send(context.Background(), page(fmt.Sprintf("n%d-%d", w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if strings.HasPrefix(r.ProviderID, "SMdev") {
					if _, dup := smsIDs.LoadOrStore(r.ProviderID, true); dup {
						t.Errorf("duplicate sms ProviderID %s", r.ProviderID)
					}
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ms := o.Messages(0)
				for i := 1; i < len(ms); i++ {
					if ms[i].Seq != ms[i-1].Seq+1 {
						t.Errorf("seqs not consecutive: %d then %d", ms[i-1].Seq, ms[i].Seq)
						return
					}
				}
				rec := do(t, h, "GET", "/dev/outbox?format=json&channel=sms&since=10", nil, nil)
				if rec.Code != 200 {
					t.Errorf("GET during sends: %d", rec.Code)
					return
				}
				_ = o.Len()
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	total := workers * each
	if o.Len() != max || o.Dropped() != uint64(total-max) {
		t.Errorf("Len %d Dropped %d, want %d and %d", o.Len(), o.Dropped(), max, total-max)
	}
	ms := o.Messages(0)
	if ms[0].Seq != uint64(total-max+1) || ms[len(ms)-1].Seq != uint64(total) {
		t.Errorf("kept seqs %d..%d", ms[0].Seq, ms[len(ms)-1].Seq)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.ID] {
			t.Errorf("message %s kept twice", m.ID)
		}
		seen[m.ID] = true
	}
}

// TestHTMLCountsStepsFromOne: the page people read numbers steps and loops
// from 1 like the timeline; the JSON keeps the 0-based fields.
func TestHTMLCountsStepsFromOne(t *testing.T) {
	o := newOutbox(Options{})
	send(t, o.Sender("email"), page("n42-1-2")) // Step 1, Loop 2
	html := do(t, o.Handler(), "GET", "/dev/outbox", nil, nil).Body.String()
	if !strings.Contains(html, "step 2, loop 3") {
		t.Errorf("HTML lacks \"step 2, loop 3\":\n%s", html)
	}
}

// atTime is the instant of clock's n-th call (1-based).
func atTime(n int) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, at(n))
	return t
}

// realWebhookBody is what the real webhook sender posts for m at now,
// captured by a real HTTP receiver: the outbox must show exactly that.
func realWebhookBody(t *testing.T, m *notify.Message, now time.Time) string {
	t.Helper()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer srv.Close()
	s, err := webhook.New(config.Webhook{ID: "chatops", URL: srv.URL}, webhook.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// An incident event posted to a webhook is kept with its exact body.
func TestOutboxKeepsIncidentEvents(t *testing.T) {
	o := New(Options{})
	s, ok := o.WebhookSender("chat").(interface {
		PostEvent(context.Context, string, []byte) error
	})
	if !ok {
		t.Fatal("the outbox webhook sender cannot keep incident events")
	}
	body := []byte(`{"id":"e1-1","type":"incident.event","incident":{"key":"INC-1"}}`)
	if err := s.PostEvent(context.Background(), "e1-1", body); err != nil {
		t.Fatal(err)
	}
	msgs := o.Messages(0)
	if len(msgs) != 1 || msgs[0].Body != string(body) || msgs[0].To != "chat" || msgs[0].Incidents[0] != "INC-1" {
		t.Fatalf("kept %+v", msgs)
	}
}
