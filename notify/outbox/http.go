package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paths served by Handler.
const (
	PathList  = "/dev/outbox"
	PathReply = "/dev/outbox/reply"
)

// maxReplyForm bounds the body of a reply POST.
const maxReplyForm = 64 << 10

// Handler serves
//
//	GET  /dev/outbox        the kept messages: HTML (newest first) by default,
//	                        JSON (oldest first) with ?format=json or
//	                        Accept: application/json; filters ?since=SEQ
//	                        (messages with a greater seq) and ?channel=
//	POST /dev/outbox/reply  form fields seq and text: replies to that message
//	                        through Options.Reply; without seq, channel
//	                        (email or sms) and optionally user pick the
//	                        newest such message that takes replies
//
// Errors are JSON {"error": "..."}. Cross-origin POSTs from browsers are
// refused (403), so a web page cannot act on incidents through a developer's
// local node.
func (o *Outbox) Handler() http.Handler {
	csrf := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch r.URL.Path {
		case PathList:
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use GET", r.Method, PathList))
				return
			}
			o.serveList(w, r)
		case PathReply:
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST")
				writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use POST", r.Method, PathReply))
				return
			}
			if err := csrf.Check(r); err != nil {
				writeError(w, http.StatusForbidden, "cross-origin request refused")
				return
			}
			o.serveReply(w, r)
		default:
			writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		}
	})
}

// listAnswer is the JSON of GET /dev/outbox.
type listAnswer struct {
	Node     string    `json:"node"`
	Dropped  uint64    `json:"dropped"`
	Messages []Message `json:"messages"`
}

func (o *Outbox) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "html" && format != "json" {
		writeError(w, http.StatusBadRequest, "format: want html or json")
		return
	}
	var since uint64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since: %q is not a message seq (a non-negative integer)", v))
			return
		}
		since = n
	}
	channel := q.Get("channel")
	switch channel {
	case "", ChannelEmail, ChannelSMS, ChannelWebhook:
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("channel: %q is not email, sms or webhook", channel))
		return
	}
	msgs, dropped := o.snapshot(since, channel)
	if format == "json" || (format == "" && acceptsJSON(r)) {
		writeJSON(w, http.StatusOK, listAnswer{Node: o.node, Dropped: dropped, Messages: msgs})
		return
	}
	slices.Reverse(msgs)
	page := listPage{
		Node: o.node, Dropped: dropped, Kept: o.Len(), Messages: msgs,
		Channel: channel, Since: since, ReplyWired: o.reply != nil,
	}
	if v := q.Get("replied"); v != "" {
		page.Flash = &flash{Seq: v, Answer: q.Get("answer")}
	}
	var buf bytes.Buffer
	if err := listTemplate.Execute(&buf, page); err != nil {
		writeError(w, http.StatusInternalServerError, "render outbox: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (o *Outbox) serveReply(w http.ResponseWriter, r *http.Request) {
	if o.reply == nil {
		writeError(w, http.StatusNotImplemented, "replies are not wired")
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type: want application/x-www-form-urlencoded with fields seq (or channel) and text")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxReplyForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("form over %d bytes", maxReplyForm))
			return
		}
		writeError(w, http.StatusBadRequest, "form: "+err.Error())
		return
	}
	text := r.PostForm.Get("text")
	m, status, msg := o.replyTarget(r.PostForm)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	seq := m.Seq
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "text: required")
		return
	}
	if m.Channel != ChannelEmail && m.Channel != ChannelSMS {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("seq: message %d is a %s message; only email and sms messages take replies", seq, m.Channel))
		return
	}
	answer, err := o.reply(r.Context(), m, text)
	if err != nil {
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			if d := ra.RetryAfter(); d > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
			}
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("reply to message %d: %v", seq, err))
			return
		}
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("reply to message %d: %v", seq, err))
		return
	}
	if acceptsJSON(r) || r.URL.Query().Get("format") == "json" {
		writeJSON(w, http.StatusOK, map[string]string{"answer": answer})
		return
	}
	// Redirect after POST, so reloading the page does not reply twice;
	// the answer rides along in the query and is shown at the top.
	loc := PathList + "?" + url.Values{"replied": {strconv.FormatUint(seq, 10)}, "answer": {answer}}.Encode() +
		"#m" + strconv.FormatUint(seq, 10)
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// acceptsJSON reports whether the Accept header names application/json.
func acceptsJSON(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(h, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// listPage is what the HTML template renders.
type listPage struct {
	Node       string
	Dropped    uint64
	Kept       int
	Messages   []Message // newest first
	Channel    string
	Since      uint64
	ReplyWired bool
	Flash      *flash
}

type flash struct {
	Seq    string
	Answer string
}

var listTemplate = template.Must(template.New("outbox").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") },
	"join": func(s []string) string { return strings.Join(s, ", ") },
	// People count steps and loops from 1; the JSON keeps them 0-based.
	"human": func(n int) int { return n + 1 },
	"replyHint": func(m Message) string {
		if m.Channel == ChannelSMS && m.ReplyCode != "" {
			return m.ReplyCode + "a"
		}
		return "ack"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pagerd dev outbox{{if .Node}} – {{.Node}}{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; max-width: 60em; }
.msg { border-top: 1px solid #ccc; padding: .6em 0; }
.meta { color: #555; font-size: .9em; }
.channel { font-weight: bold; text-transform: uppercase; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .5em; margin: .4em 0; }
.flash { background: #e8f4e8; border: 1px solid #9c9; padding: .5em; }
form { margin: .3em 0; }
</style>
</head>
<body>
<h1>pagerd dev outbox</h1>
<p class="meta">Node {{if .Node}}<b>{{.Node}}</b>{{else}}(unnamed){{end}} ·
{{.Kept}} kept{{if .Dropped}} · {{.Dropped}} older dropped{{end}} ·
{{len .Messages}} shown{{if .Channel}} (channel {{.Channel}}){{end}}{{if .Since}} (after #{{.Since}}){{end}} ·
<a href="?format=json">JSON</a>.
Nothing here was sent: this node runs with <code>--dev</code>.</p>
{{if not .ReplyWired}}<p class="meta">Replies are not wired on this node.</p>{{end}}
{{with .Flash}}<p class="flash">Reply to #{{.Seq}}: {{.Answer}}</p>{{end}}
{{if not .Messages}}<p>No messages yet.</p>{{end}}
{{range .Messages}}
<div class="msg" id="m{{.Seq}}">
<div class="meta">#{{.Seq}} · {{when .At}} · <span class="channel">{{.Channel}}</span>
to <b>{{.To}}</b>{{if .User}} ({{.User}}){{end}}{{if .Summary}} · summary{{end}}
{{if .Incidents}} · {{join .Incidents}}{{end}} · step {{human .Step}}, loop {{human .Loop}}</div>
<div class="meta">notification {{.ID}}{{if .Summary}} · bundles {{join .Notifications}}{{end}}{{if .ReplyTo}} · Reply-To {{.ReplyTo}}{{end}}{{if .ReplyCode}} · reply code {{.ReplyCode}}{{end}}</div>
{{if .Subject}}<div><b>{{.Subject}}</b></div>{{end}}
<pre>{{.Body}}</pre>
{{if and $.ReplyWired (or (eq .Channel "sms") (eq .Channel "email"))}}<form method="post" action="/dev/outbox/reply">
<input type="hidden" name="seq" value="{{.Seq}}">
<input type="text" name="text" placeholder="{{replyHint .}}" required aria-label="reply to #{{.Seq}}">
<button type="submit">Send</button>
</form>{{end}}
</div>
{{end}}
</body>
</html>
`))

// replyTarget is the message a reply form answers: the one with seq, or,
// without seq, the newest message of channel (email or sms; to user, if
// given) that takes replies. Status 0 means found.
func (o *Outbox) replyTarget(form url.Values) (Message, int, string) {
	seqText := strings.TrimSpace(form.Get("seq"))
	if seqText == "" {
		return o.newestReplyable(strings.TrimSpace(form.Get("channel")), strings.TrimSpace(form.Get("user")))
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil || seq == 0 {
		return Message{}, http.StatusBadRequest, fmt.Sprintf("seq: %q is not a message seq (a positive integer)", seqText)
	}
	m, err := o.lookup(seq)
	if err != nil {
		return Message{}, http.StatusNotFound, fmt.Sprintf("no message with seq %d", seq)
	}
	return m, 0, ""
}

// newestReplyable finds the newest email (with a Reply-To) or SMS (with a
// reply code) message, to user if user is not empty.
func (o *Outbox) newestReplyable(channel, user string) (Message, int, string) {
	switch channel {
	case "":
		return Message{}, http.StatusBadRequest, "seq: required (or channel: email or sms, for the newest such message)"
	case ChannelEmail, ChannelSMS:
	default:
		return Message{}, http.StatusBadRequest, fmt.Sprintf("channel: %q is not email or sms; only those take replies", channel)
	}
	msgs, _ := o.snapshot(0, channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if (user == "" || m.User == user) && (m.ReplyTo != "" || m.ReplyCode != "") {
			return m, 0, ""
		}
	}
	if user != "" {
		return Message{}, http.StatusNotFound, fmt.Sprintf("no %s message to user %q takes replies", channel, user)
	}
	return Message{}, http.StatusNotFound, fmt.Sprintf("no %s message takes replies", channel)
}
