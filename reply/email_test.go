package reply

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

type emailWant struct {
	file      string
	envelope  string
	from      string
	messageID string
	command   string
	line      string
	autoReply bool
	bounce    bool
}

var emailFixtures = []emailWant{
	{file: "gmail_reply.eml", from: "alice@example.com", messageID: "CAF=gmail+ack@mail.gmail.com",
		command: ActionAck, line: "Ack, looking now."},
	{file: "outlook_reply.eml", from: "bob@corp.example",
		messageID: "AM6PR0502MB1234ABCD@AM6PR0502MB1234.eurprd05.prod.outlook.com",
		command:   ActionEscalate, line: "Escalate – I'm on a train without a laptop."},
	{file: "outlook_forward_block.eml", from: "bob@corp.example", command: "",
		line: "RE: [INC-42] Cannot resolve DNS for db1"},
	{file: "apple_iphone.eml", from: "carol@example.org",
		messageID: "8E0B1C2D-3F4A-4B5C-9D6E-7F8091A2B3C4@example.org", command: ActionResolve, line: "Resolved"},
	{file: "quoted_resolve_below_ack.eml", from: "dave@example.net", command: ActionAck, line: "ack"},
	{file: "latin1_base64.eml", from: "francois@example.fr", command: ActionAck,
		line: "Acknowledged - je m'en occupe, café."},
	{file: "html_only.eml", from: "frank@example.com", command: ActionResolve, line: "Resolve\u00a0— freed 20\u00a0GB"},
	{file: "multipart_alternative.eml", from: "grace@example.com", command: ActionEscalate,
		line: "escalate: need the DB team, I can't get in"},
	{file: "empty_body_subject_ack.eml", from: "heidi@example.com", command: ActionAck, line: "Re: ack"},
	{file: "bottom_post.eml", from: "mops@example.net", command: ActionResolve,
		line: "resolve - cleared /var/log, 40% free now"},
	{file: "vacation_autoreply.eml", from: "ivan@example.com", autoReply: true},
	{file: "outlook_automatic_reply.eml", from: "judy@corp.example", autoReply: true},
	{file: "dsn_bounce.eml", envelope: "<>", from: "MAILER-DAEMON@mx.example.com", bounce: true, autoReply: true},
	// A DSN relayed with a non-null envelope sender is still a bounce.
	{file: "dsn_bounce.eml", envelope: "bounces@relay.example", from: "MAILER-DAEMON@mx.example.com", bounce: true, autoReply: true},
}

func TestParseEmailFixtures(t *testing.T) {
	for _, crlf := range []bool{false, true} {
		for _, w := range emailFixtures {
			raw, err := os.ReadFile(filepath.Join("testdata", "email", w.file))
			if err != nil {
				t.Fatal(err)
			}
			if crlf {
				raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
			}
			env := w.envelope
			if env == "" {
				env = w.from
			}
			rep, err := ParseEmail(bytes.NewReader(raw), env)
			if err != nil {
				t.Errorf("%s (crlf=%v): %v", w.file, crlf, err)
				continue
			}
			check := func(field, got, want string) {
				if got != want {
					t.Errorf("%s (crlf=%v): %s = %q, want %q (reason %q)", w.file, crlf, field, got, want, rep.Reason)
				}
			}
			check("From", rep.From, w.from)
			check("Command", rep.Command, w.command)
			if !w.autoReply && !w.bounce {
				check("Line", rep.Line, w.line)
			}
			if w.messageID != "" {
				check("MessageID", rep.MessageID, w.messageID)
			}
			if rep.AutoReply != w.autoReply || rep.Bounce != w.bounce {
				t.Errorf("%s: AutoReply=%v Bounce=%v, want %v %v (%s)", w.file, rep.AutoReply, rep.Bounce, w.autoReply, w.bounce, rep.Reason)
			}
			if rep.Reason == "" {
				t.Errorf("%s: empty Reason", w.file)
			}
			if len(rep.To) != 1 || !strings.HasSuffix(rep.To[0], "@pager.example.com") {
				t.Errorf("%s: To = %v", w.file, rep.To)
			}
		}
	}
}

func TestParseEmailNullSenderIsBounce(t *testing.T) {
	raw, _ := os.ReadFile("testdata/email/quoted_resolve_below_ack.eml")
	for _, env := range []string{"", "<>", " <> "} {
		rep, err := ParseEmail(bytes.NewReader(raw), env)
		if err != nil || !rep.Bounce || rep.Command != "" {
			t.Errorf("envelope %q: %+v %v", env, rep, err)
		}
	}
}

// msg builds a small message with extra header lines and a plain body.
func msg(headers, body string) string {
	return "From: a@example.com\r\nTo: t@pager.example.com\r\nSubject: Re: [INC-1] x\r\n" +
		"Message-ID: <m@example.com>\r\n" + headers + "\r\n" + body
}

func parseStr(t *testing.T, raw string) *EmailReply {
	t.Helper()
	rep, err := ParseEmail(strings.NewReader(raw), "a@example.com")
	if err != nil {
		t.Fatalf("ParseEmail: %v", err)
	}
	return rep
}

func TestAutoReplyHeaders(t *testing.T) {
	auto := []string{
		"Auto-Submitted: auto-replied\r\n",
		"Auto-Submitted: auto-generated\r\n",
		"Auto-Submitted: auto-notified; owner-email=\"x@y\"\r\n",
		"Auto-Submitted: Auto-Replied (vacation)\r\n",
		"X-Autoreply: yes\r\n",
		"X-Autorespond: Out of office\r\n",
		"X-Autoresponder: 1\r\n",
		"Precedence: bulk\r\n",
		"Precedence: JUNK\r\n",
		"Precedence: list\r\n",
		"Precedence: auto_reply\r\n",
	}
	for _, h := range auto {
		rep := parseStr(t, msg(h, "ack\r\n"))
		if !rep.AutoReply || rep.Command != "" {
			t.Errorf("%q: %+v", h, rep)
		}
	}
	human := []string{
		"",
		"Auto-Submitted: no\r\n",
		"Auto-Submitted: No (human)\r\n",
		"X-Auto-Response-Suppress: All\r\n",
		"X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n",
		"Precedence: first-class\r\n",
		"X-Autoreply: no\r\n",
	}
	for _, h := range human {
		rep := parseStr(t, msg(h, "ack\r\n"))
		if rep.AutoReply || rep.Command != ActionAck {
			t.Errorf("%q: %+v", h, rep)
		}
	}
}

func TestAutoReplySubjects(t *testing.T) {
	for _, s := range []string{"Automatic reply: [INC-1] x", "Out of Office: [INC-1]", "AutoReply: hi", "Auto: [INC-1]"} {
		raw := "From: a@example.com\r\nSubject: " + s + "\r\n\r\nack\r\n"
		if rep := parseStr(t, raw); !rep.AutoReply {
			t.Errorf("%q not an auto-reply", s)
		}
	}
}

func TestBounceByContentType(t *testing.T) {
	for _, ct := range []string{
		"multipart/report; report-type=disposition-notification; boundary=b",
		"message/delivery-status",
	} {
		raw := msg("Content-Type: "+ct+"\r\n", "--b\r\nContent-Type: text/plain\r\n\r\nack\r\n--b--\r\n")
		if rep := parseStr(t, raw); !rep.Bounce || rep.Command != "" {
			t.Errorf("%s: %+v", ct, rep)
		}
	}
}

func TestFirstNewLine(t *testing.T) {
	cases := []struct {
		body, line string
		found      bool
	}{
		{"ack", "ack", true},
		{"\n\n  resolve  \n", "resolve", true},
		{"> resolve\nack", "ack", true}, // quoted above, new below
		{">resolve\n>> escalate\n\nack\n", "ack", true},
		{"-- \nack", "", false},
		{"--\nack", "", false},
		{"---\nack", "---", true}, // not a signature separator
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x> wrote:\nack", "", false},
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x>\nwrote:\nack", "", false},
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x>\n\nwrote:\nack", "", false},
		{"On it\nack", "On it", true}, // "On" alone is not an attribution
		// Bottom-posting: an attribution introducing a ">" block only labels it.
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x> wrote:\n> resolve\n> x\n\nack\n", "ack", true},
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x>\nwrote:\n\n> resolve\nack", "ack", true},
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x> wrote:\n> resolve\n", "", false},
		{"On Sat, Nov 21, 2026 at 12:04 PM pagerd <p@x> wrote:\n> resolve\n-- \nack", "", false},
		{"> On Nov 21, 2026, at 12:04, pagerd <p@x> wrote:\n> resolve\n\nescalate", "escalate", true},
		{"alice@example.com wrote:\n> ack", "", false},
		{"Am 21.11.2026 um 12:04 schrieb pagerd <p@x>:\n> ack", "", false},
		{"Le sam. 21 nov. 2026 à 12:04, pagerd <p@x> a écrit :\n> ack", "", false},
		{"El sáb, 21 nov 2026 a las 12:04, pagerd (<p@x>) escribió:\n> ack", "", false},
		{"-----Original Message-----\nack", "", false},
		{"----- Original Message -----\nack", "", false},
		{"---------- Forwarded message ---------\nFrom: x\nack", "", false},
		{"-----Ursprüngliche Nachricht-----\nack", "", false},
		{"Begin forwarded message:\n\nack", "", false},
		{"________________________________\nack", "", false},
		{"From: pagerd <p@x>\nSent: Saturday\nTo: bob\nSubject: s\n\nack", "", false},
		{"*From:* pagerd <p@x>\n*Date:* Sat\n*Subject:* s\n\nack", "", false},
		{"Von: pagerd\nGesendet: Samstag\nAn: bob\nBetreff: s\n\nack", "", false},
		{"From: the database team\nack", "From: the database team", true}, // no header block follows
		{"Sent from my iPhone\n\nack", "ack", true},
		{"Sent from my iPhone", "", false},
		{"Get Outlook for iOS\n", "", false},
		{"Von meinem iPhone gesendet\n", "", false},
		{"\ufeffack", "ack", true},
		{"", "", false},
	}
	for _, c := range cases {
		line, found := firstNewLine(c.body)
		if line != c.line || found != c.found {
			t.Errorf("firstNewLine(%q) = %q, %v; want %q, %v", c.body, line, found, c.line, c.found)
		}
	}
}

func TestCommandFromLine(t *testing.T) {
	cases := map[string]string{
		"ack": ActionAck, "ACK": ActionAck, "Ack, on it": ActionAck, "ack.": ActionAck, "*ack*": ActionAck,
		"Acknowledge": ActionAck, "acknowledged!": ActionAck, "acked": ActionAck, "\"ack\"": ActionAck,
		"resolve": ActionResolve, "Resolved - freed space": ActionResolve,
		"escalate": ActionEscalate, "Escalated": ActionEscalate, "ESCALATE please": ActionEscalate,
		"a": "", "A quick question": "", "r": "", "e": "", "res": "", "esc": "",
		"acknowledgement pending": "", "escalation?": "", "resolver broken": "", "ackbar": "",
		"please ack": "", "": "", "3a": "", "not ack": "", "ack3": ActionAck,
		"sev1": ActionSeverity, "SEV2 - customers see errors": ActionSeverity, "sev3.": ActionSeverity,
		"sev4": "", "sev12": "", "sev1a": "", "sev": "", "several": "",
		"take im": ActionRole, "Take IM.": ActionRole, "take tl please": ActionRole, "take cm": ActionRole,
		"take": "", "take it": "", "takeim": "", "take imx": "",
	}
	for in, want := range cases {
		if got := commandFromLine(in); got != want {
			t.Errorf("commandFromLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandFromSubject(t *testing.T) {
	cases := map[string]string{
		"Re: ack":                             ActionAck,
		"RE: RE: Resolve":                     ActionResolve,
		"Fwd: escalate":                       ActionEscalate,
		"AW: ack":                             ActionAck,
		"Re[2]: ack":                          ActionAck,
		"ack Re: [INC-42] Disk full":          ActionAck,
		"Re: [INC-42] Disk full":              "",
		"Re: [INC-42] Cannot resolve DNS":     "",
		"Re: [INC-42] ack":                    "",
		"[INC-42] Escalate to DBA team":       "",
		"":                                    "",
		"Re:":                                 "",
		"Reack":                               "",
		"Re: acknowledged [INC-42] Disk full": ActionAck,
	}
	for in, want := range cases {
		if got := commandFromSubject(in); got != want {
			t.Errorf("commandFromSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmptyBodyFallsBackToSubjectOnly(t *testing.T) {
	// Body has new text that is not a command: the subject is not used.
	raw := "From: a@example.com\r\nSubject: Re: ack\r\n\r\nthanks, will look\r\n"
	if rep := parseStr(t, raw); rep.Command != "" || rep.Line != "thanks, will look" {
		t.Errorf("%+v", rep)
	}
	// Only a mobile footer and quotes: the subject is used.
	raw = "From: a@example.com\r\nSubject: Re: resolve\r\n\r\nSent from my iPhone\r\n\r\n> ack\r\n"
	if rep := parseStr(t, raw); rep.Command != ActionResolve {
		t.Errorf("%+v", rep)
	}
}

func TestPlainPreferredOverHTML(t *testing.T) {
	raw := msg("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=zz\r\n",
		"--zz\r\nContent-Type: text/html\r\n\r\n<p>resolve</p>\r\n"+
			"--zz\r\nContent-Type: text/plain\r\n\r\nack\r\n--zz--\r\n")
	if rep := parseStr(t, raw); rep.Command != ActionAck {
		t.Errorf("%+v", rep)
	}
}

func TestTextAttachmentIgnored(t *testing.T) {
	raw := msg("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n",
		"--zz\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\nresolve\r\n"+
			"--zz\r\nContent-Type: text/plain\r\n\r\nescalate\r\n--zz--\r\n")
	if rep := parseStr(t, raw); rep.Command != ActionEscalate {
		t.Errorf("%+v", rep)
	}
	// An attached message (forward as attachment) is never read.
	raw = msg("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n",
		"--zz\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nack\r\n--zz--\r\n")
	if rep := parseStr(t, raw); rep.Command != "" {
		t.Errorf("%+v", rep)
	}
}

func TestHTMLToText(t *testing.T) {
	cases := map[string]string{
		"<p>ack</p>":                     "\nack\n",
		"a<br>b":                         "a\nb",
		"<b>ack</b> &amp; go":            "ack & go",
		"<head><title>t</title></head>x": "x",
		"<style>p{}</style><script>if(a<b){}</script>x":             "x",
		"x<blockquote>ack<blockquote>r</blockquote>y</blockquote>z": "x\n\nz",
		"x<!-- resolve -->y":   "xy",
		"x<!-- unterminated":   "x",
		"x<b":                  "x",
		"</blockquote>ack":     "\nack",
		"<STYLE>p{}</STYLE>ok": "ok",
		"<style>never closed":  "",
		// A '>' inside a quoted attribute does not end the tag: the old
		// scanner printed `" href="x">` and the rest of the tag as text.
		`<a title="a>b" href="x">resolve</a>`:       "resolve",
		`<img alt='1 > 0'><p data-x="<b>">ack</p>`:  "\nack\n",
		`x<blockquote cite="q>r">ack</blockquote>y`: "x\ny",
		`<div style="a:b>c">escalate</div>`:         "\nescalate\n",
	}
	for in, want := range cases {
		if got := htmlToText(in); got != want {
			t.Errorf("htmlToText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEmailTooLarge(t *testing.T) {
	head := "From: a@example.com\r\nSubject: x\r\n\r\nack\r\n"
	exact := head + strings.Repeat("x", MaxEmailSize-len(head))
	if _, err := ParseEmail(strings.NewReader(exact), "a@example.com"); err != nil {
		t.Fatalf("exactly MaxEmailSize: %v", err)
	}
	_, err := ParseEmail(strings.NewReader(exact+"y"), "a@example.com")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	// The reader is not drained past the cap.
	r := &countingReader{r: strings.NewReader(exact + strings.Repeat("y", 10<<20))}
	if _, err := ParseEmail(r, ""); !errors.Is(err, ErrTooLarge) || r.n > MaxEmailSize+1 {
		t.Fatalf("read %d bytes: %v", r.n, err)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseEmailReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := ParseEmail(iotest.ErrReader(boom), "a@example.com")
	if !errors.Is(err, boom) || errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v", err)
	}
}

func TestParseEmailOddInputs(t *testing.T) {
	inputs := []string{
		"",
		"\r\n",
		"no header separator",
		"From: a@example.com\r\n\r\n",
		"From a@example.com\r\n\r\nack", // mbox From_ line
		"From: \"unterminated <a@example.com\r\nSubject: =?bogus?Q?x?=\r\n\r\nack",
		"Content-Type: multipart/alternative; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nack", // no closing boundary
		"Content-Type: multipart/alternative\r\n\r\nack",                                                      // no boundary param
		"Content-Type: text/plain; charset=x-unknown-charset\r\n\r\nack",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nack",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64",
		"Content-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfeack",
		strings.Repeat("X-H: v\r\n", 5000) + "\r\nack",
		"Content-Type: " + strings.Repeat("multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: ", 50) + "text/plain\r\n\r\nack",
	}
	for _, in := range inputs {
		rep, err := ParseEmail(strings.NewReader(in), "a@example.com")
		if err != nil {
			if !errors.Is(err, ErrMalformedEmail) {
				t.Errorf("%.40q: unexpected error kind %v", in, err)
			}
			continue
		}
		if rep == nil {
			t.Errorf("%.40q: nil reply without error", in)
		}
	}
}

// TestParseEmailBoundsHeaderFields: a From address that parses is still
// clipped, as the raw text is (found by FuzzParseEmail in CI), and an
// over-long Message-ID is dropped rather than clipped, so the caller's
// digest of the message tells two such replies apart.
func TestParseEmailBoundsHeaderFields(t *testing.T) {
	local := strings.Repeat("a", 600)
	rep := parseStr(t, "From: "+local+"@example.com\r\nMessage-ID: <"+local+"@example.com>\r\nSubject: x\r\n\r\nack\r\n")
	if len(rep.From) > maxLineField+len("…") || !strings.HasSuffix(rep.From, "…") || !strings.HasPrefix(rep.From, "aaaa") {
		t.Fatalf("From = %d bytes %.20q…, want clipped to %d", len(rep.From), rep.From, maxLineField)
	}
	if rep.MessageID != "" {
		t.Fatalf("MessageID = %d bytes, want none", len(rep.MessageID))
	}
	if rep.Command != ActionAck {
		t.Fatalf("Command = %q, want ack", rep.Command)
	}
}

// TestParseEmailBoundsUpdateText: an email update's text is held to the
// API's limit on an update message, which a follower forwarding the reply
// to the leader goes through (a 5000-byte first line used to pass whole,
// so the same reply was posted on the leader and refused from a
// follower), and a header quoted in Reason is clipped like the others.
func TestParseEmailBoundsUpdateText(t *testing.T) {
	rep := parseStr(t, msg("", "public: "+strings.Repeat("é", 2600)+"\r\n"))
	if rep.Command != ActionUpdate || rep.Audience != "public" || len(rep.Text) > MaxUpdateText ||
		!strings.HasPrefix(rep.Text, "éé") || !strings.HasSuffix(rep.Text, "…") || !utf8.ValidString(rep.Text) {
		t.Fatalf("update %q, %d bytes: %.20q…", rep.Command, len(rep.Text), rep.Text)
	}
	short := parseStr(t, msg("", "update: rolled back\r\n"))
	if short.Command != ActionUpdate || short.Audience != "internal" || short.Text != "rolled back" {
		t.Fatalf("short update: %+v", short)
	}
	auto := parseStr(t, msg("Auto-Submitted: auto-replied "+strings.Repeat("x", 5000)+"\r\n", "ack\r\n"))
	if !auto.AutoReply || len(auto.Reason) > maxReasonLen {
		t.Fatalf("auto-reply %v, reason of %d bytes", auto.AutoReply, len(auto.Reason))
	}
}

func FuzzParseEmail(f *testing.F) {
	files, _ := filepath.Glob("testdata/email/*.eml")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err == nil {
			f.Add(raw, "a@example.com")
		}
	}
	f.Add([]byte(msg("", "ack")), "")
	f.Add([]byte(msg("", "sev1 customers are hit")), "")
	f.Add([]byte(msg("", "take im")), "")
	f.Add([]byte("Content-Type: text/html\r\n\r\n<blockquote><p>ack</blockquote>"), "x@y")
	f.Fuzz(func(t *testing.T, raw []byte, env string) {
		if len(raw) > MaxEmailSize {
			return
		}
		// parseEmail, not ParseEmail: the exported wrapper recovers panics,
		// which would hide exactly what this target looks for.
		rep, err := parseEmail(raw, env)
		if err != nil {
			if rep != nil || !errors.Is(err, ErrMalformedEmail) {
				t.Fatalf("bad error result %+v %v", rep, err)
			}
			return
		}
		if (rep.AutoReply || rep.Bounce) && rep.Command != "" {
			t.Fatalf("command on auto-reply/bounce: %+v", rep)
		}
		if (rep.Command == ActionSeverity) != (rep.Severity == "sev1" || rep.Severity == "sev2" || rep.Severity == "sev3") {
			t.Fatalf("severity %q with command %q", rep.Severity, rep.Command)
		}
		if (rep.Command == ActionRole) != (rep.Role == "incident_manager" || rep.Role == "tech_lead" || rep.Role == "comms_manager") {
			t.Fatalf("role %q with command %q", rep.Role, rep.Command)
		}
		switch rep.Command {
		case "", ActionAck, ActionResolve, ActionEscalate, ActionSeverity, ActionRole, ActionUpdate:
		default:
			t.Fatalf("unknown command %q", rep.Command)
		}
		// An update ("update: TEXT", "public: TEXT") carries an audience
		// and a text the API would take; nothing else carries either.
		isUpdate := (rep.Audience == "internal" || rep.Audience == "public") && strings.TrimSpace(rep.Text) != ""
		if (rep.Command == ActionUpdate) != isUpdate || (!isUpdate && rep.Audience+rep.Text != "") {
			t.Fatalf("update %q %q with command %q", rep.Audience, rep.Text, rep.Command)
		}
		if len(rep.Text) > MaxUpdateText || !utf8.ValidString(rep.Text) {
			t.Fatalf("update text of %d bytes (valid UTF-8: %v)", len(rep.Text), utf8.ValidString(rep.Text))
		}
		if len(rep.Line) > maxLineField+len("…") || len(rep.From) > maxLineField+len("…") || len(rep.MessageID) > maxLineField ||
			len(rep.Reason) > maxReasonLen {
			t.Fatalf("unbounded field: %d %d %d %d", len(rep.Line), len(rep.From), len(rep.MessageID), len(rep.Reason))
		}
	})
}

// FuzzHTMLToText: any HTML converts without a panic, and the result is
// valid UTF-8 whenever the input is (the tokenizer never splits a rune).
func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{"<p>ack</p>", `<a title="a>b">r</a>`, "<blockquote>x", "<style>", "x<!--", "&amp;&#x1F600;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("htmlToText(%q) = %q: invalid UTF-8", s, out)
		}
	})
}

// Spec §5.5: "sev1" as the first line of new text sets the severity; in
// the subject too when the body is empty.
func TestParseEmailSeverity(t *testing.T) {
	rep := parseStr(t, msg("", "Sev1 - checkout is down for everyone\r\n\r\nOn Mon, pagerd wrote:\r\n> [INC-1] x\r\n"))
	if rep.Command != ActionSeverity || rep.Severity != "sev1" {
		t.Fatalf("body: %+v", rep)
	}
	raw := "From: a@example.com\r\nTo: t@pager.example.com\r\nSubject: Re: sev2 [INC-1] x\r\nMessage-ID: <m@example.com>\r\n\r\n"
	if rep := parseStr(t, raw); rep.Command != ActionSeverity || rep.Severity != "sev2" {
		t.Fatalf("subject: %+v", rep)
	}
	if rep := parseStr(t, msg("", "sev5\r\n")); rep.Command != "" || rep.Severity != "" {
		t.Fatalf("sev5: %+v", rep)
	}
}

// Spec §5.5: "take im" as the first line of new text takes the role.
func TestEmailTakeRole(t *testing.T) {
	rep := parseStr(t, msg("", "Take IM, I'm on it"))
	if rep.Command != ActionRole || rep.Role != "incident_manager" {
		t.Fatalf("reply = %+v, want role incident_manager", rep)
	}
}

// An ack of a role page takes the role and never acknowledges the incident.
func TestRoleAck(t *testing.T) {
	req := Request{Kind: ActionAck}
	RoleAck(&req, Page{Role: "tech_lead"})
	if req.Kind != ActionRole || req.Role != "tech_lead" {
		t.Fatalf("ack of a role page = %+v", req)
	}
	req = Request{Kind: ActionAck}
	RoleAck(&req, Page{})
	if req.Kind != ActionAck {
		t.Fatalf("ack of an incident page = %+v", req)
	}
}
