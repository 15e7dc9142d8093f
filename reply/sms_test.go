package reply

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pagerd/pagerd/notify"
)

func TestParseSMSAccepted(t *testing.T) {
	cases := map[string]Command{
		"3a":             {Code: 3, HasCode: true, Action: ActionAck},
		"3 A":            {Code: 3, HasCode: true, Action: ActionAck},
		" 3ack ":         {Code: 3, HasCode: true, Action: ActionAck},
		"3 resolve":      {Code: 3, HasCode: true, Action: ActionResolve},
		"3R":             {Code: 3, HasCode: true, Action: ActionResolve},
		"12e":            {Code: 12, HasCode: true, Action: ActionEscalate},
		"3s1":            {Code: 3, HasCode: true, Action: ActionSeverity, Severity: "sev1"},
		"3im":            {Code: 3, HasCode: true, Action: ActionRole, Role: "incident_manager"},
		"2 TL":           {Code: 2, HasCode: true, Action: ActionRole, Role: "tech_lead"},
		"cm":             {Action: ActionRole, Role: "comms_manager"},
		"3 S3":           {Code: 3, HasCode: true, Action: ActionSeverity, Severity: "sev3"},
		"4sev2":          {Code: 4, HasCode: true, Action: ActionSeverity, Severity: "sev2"},
		"s2":             {Action: ActionSeverity, Severity: "sev2"},
		"12 esc":         {Code: 12, HasCode: true, Action: ActionEscalate},
		"7 Escalate!":    {Code: 7, HasCode: true, Action: ActionEscalate},
		"1res":           {Code: 1, HasCode: true, Action: ActionResolve},
		"03a":            {Code: 3, HasCode: true, Action: ActionAck},
		"#3a.":           {Code: 3, HasCode: true, Action: ActionAck},
		"\"3a\"":         {Code: 3, HasCode: true, Action: ActionAck},
		"3a 👍":           {Code: 3, HasCode: true, Action: ActionAck},
		"3\u00a0a":       {Code: 3, HasCode: true, Action: ActionAck},
		"3a ❤️":          {Code: 3, HasCode: true, Action: ActionAck},
		"\u200b3a\u200d": {Code: 3, HasCode: true, Action: ActionAck},
		"3a 👍🏽":          {Code: 3, HasCode: true, Action: ActionAck},
		"3\t a\r\n":      {Code: 3, HasCode: true, Action: ActionAck},
		"3acknowledged":  {Code: 3, HasCode: true, Action: ActionAck},
		"999999a":        {Code: 999999, HasCode: true, Action: ActionAck},
		"ACK":            {Action: ActionAck},
		"a":              {Action: ActionAck},
		"Acknowledge.":   {Action: ActionAck},
		"resolved":       {Action: ActionResolve},
		"r":              {Action: ActionResolve},
		"e":              {Action: ActionEscalate},
		"HELP":           {Action: ActionHelp},
		"info?":          {Action: ActionHelp},
		"STOP":           {Action: ActionStop},
		"Stop.":          {Action: ActionStop},
		"stopall":        {Action: ActionStop},
		"STOP ALL":       {Action: ActionStop},
		"UNSUBSCRIBE":    {Action: ActionStop},
		"cancel":         {Action: ActionStop},
		"END":            {Action: ActionStop},
		"quit":           {Action: ActionStop},
		"revoke":         {Action: ActionStop},
		"optout":         {Action: ActionStop},
		"opt-out":        {Action: ActionStop},
		"START":          {Action: ActionStart},
		"yes":            {Action: ActionStart},
		"Unstop":         {Action: ActionStart},
	}
	for in, want := range cases {
		got, err := ParseSMS(in)
		if err != nil {
			t.Errorf("ParseSMS(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("ParseSMS(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestParseSMSRejected(t *testing.T) {
	cases := map[string]string{
		"hello":                              `Unrecognised reply "hello". ` + smsHelp,
		"":                                   "Empty reply. " + smsHelp,
		"  ?! ":                              "Empty reply. " + smsHelp,
		"3":                                  `Unrecognised reply "3". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`,
		"3x":                                 `Unrecognised reply "3x". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`,
		"0a":                                 "Reply codes start at 1. " + smsHelp,
		"1234567a":                           "No such reply code. " + smsHelp,
		"99999999999999999999999999a":        "No such reply code. " + smsHelp,
		"a3":                                 `Unrecognised reply "a3". ` + smsHelp,
		"3 3a":                               `Unrecognised reply "3 3a". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`,
		"3 a b":                              `Unrecognised reply "3 a b". ` + smsHelp,
		"ack please":                         `Unrecognised reply "ack please". ` + smsHelp,
		"3-a":                                `Unrecognised reply "3-a". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`,
		"stop it":                            `Unrecognised reply "stop it". ` + smsHelp,
		"ackk":                               `Unrecognised reply "ackk". ` + smsHelp,
		"３a":                                 `Unrecognised reply "３a". ` + smsHelp, // full-width digit is not a code
		"this is a very long message indeed": `Unrecognised reply "this is a very long …". ` + smsHelp,
	}
	for in, want := range cases {
		_, err := ParseSMS(in)
		if err == nil {
			t.Errorf("ParseSMS(%q) accepted", in)
			continue
		}
		if !errors.Is(err, ErrUnrecognisedSMS) {
			t.Errorf("ParseSMS(%q): error %v is not ErrUnrecognisedSMS", in, err)
		}
		if err.Error() != want {
			t.Errorf("ParseSMS(%q) error\n got %s\nwant %s", in, err, want)
		}
	}
}

func TestParseSMSTooLongAndBinary(t *testing.T) {
	if _, err := ParseSMS(strings.Repeat("a", MaxSMSLen+1)); err == nil || !strings.HasPrefix(err.Error(), "Reply too long.") {
		t.Fatalf("long body: %v", err)
	}
	_, err := ParseSMS("\x00\xff\xfe3a\x01")
	if err == nil {
		t.Fatal("binary body accepted")
	}
	var se *SMSError
	if !errors.As(err, &se) || !utf8.ValidString(se.Input) || strings.ContainsRune(se.Input, 0) {
		t.Fatalf("unsafe echo %q", se.Input)
	}
}

func TestTwiML(t *testing.T) {
	cases := map[string]string{
		"":                    `<?xml version="1.0" encoding="UTF-8"?><Response/>`,
		"INC-42 acknowledged": `<?xml version="1.0" encoding="UTF-8"?><Response><Message>INC-42 acknowledged</Message></Response>`,
		`Reply <code>a & "x"`: `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Reply &lt;code&gt;a &amp; &#34;x&#34;</Message></Response>`,
		"a\x00b":              `<?xml version="1.0" encoding="UTF-8"?><Response><Message>a` + "\uFFFD" + `b</Message></Response>`,
	}
	for in, want := range cases {
		if got := string(TwiML(in)); got != want {
			t.Errorf("TwiML(%q)\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestTwiMLRoundTrips(t *testing.T) {
	for _, msg := range []string{"plain", "<b>&amp;</b>", "line1\nline2", "ünïcødé ✓", "]]>"} {
		var got string
		if err := xmlUnmarshalMessage(TwiML(msg), &got); err != nil {
			t.Fatalf("%q: %v", msg, err)
		}
		if got != msg {
			t.Errorf("round trip %q -> %q", msg, got)
		}
	}
}

func FuzzParseSMS(f *testing.F) {
	for _, s := range []string{"3a", "3 A", " 3ack ", "3 resolve", "ACK", "a", "STOP", "stop all",
		"hello", "", "0a", "99999999999a", "\xff\x00", "3\u00a0e", "#12 esc!", "3s1", "3s4", "s3", "3 sev2",
		"3u Rolled back", "3p We are recovering", "u", "3 u  x ", "0u x", "3im", "3 cm", "3ix"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, err := ParseSMS(body)
		if err != nil {
			if cmd != (Command{}) {
				t.Fatalf("error with non-zero command %+v", cmd)
			}
			if !errors.Is(err, ErrUnrecognisedSMS) || !utf8.ValidString(err.Error()) {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		switch cmd.Action {
		case ActionAck, ActionResolve, ActionEscalate, ActionSeverity, ActionRole:
			if (cmd.Action == ActionRole) != (cmd.Role != "") {
				t.Fatalf("bad role in %+v", cmd)
			}
			if cmd.HasCode != (cmd.Code > 0) || cmd.Code > MaxReplyCode || cmd.Code < 0 {
				t.Fatalf("bad code in %+v", cmd)
			}
			if (cmd.Action == ActionSeverity) != (cmd.Severity == "sev1" || cmd.Severity == "sev2" || cmd.Severity == "sev3") {
				t.Fatalf("bad severity in %+v", cmd)
			}
		case ActionStop, ActionStart, ActionHelp:
			if cmd.HasCode || cmd.Code != 0 {
				t.Fatalf("opt keyword with code %+v", cmd)
			}
		case ActionUpdate:
			if cmd.HasCode != (cmd.Code > 0) || cmd.Code > MaxReplyCode || strings.TrimSpace(cmd.Text) == "" ||
				(cmd.Audience != "internal" && cmd.Audience != "public") {
				t.Fatalf("bad update %+v", cmd)
			}
			return // an update's text may be any length up to MaxSMSLen
		default:
			t.Fatalf("unknown action %+v", cmd)
		}
		// Whatever parses is short: nothing long is taken for a command.
		if len(strings.Fields(strings.TrimFunc(body, isTrimmable))) > 2 {
			t.Fatalf("%q parsed as %+v", body, cmd)
		}
	})
}

func xmlUnmarshalMessage(doc []byte, msg *string) error {
	var r struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal(doc, &r); err != nil {
		return err
	}
	*msg = r.Message
	return nil
}

// TestSMSAnswerNamesThePhonesCodes: the answer to a reply the parser refused
// names the phone's real codes, never a literal "<code>" placeholder.
func TestSMSAnswerNamesThePhonesCodes(t *testing.T) {
	one := []Page{{Code: 3, Key: "INC-42"}}
	two := []Page{{Code: 2, Key: "INC-7"}, {Code: 1, Key: "INC-4"}}
	_, hello := ParseSMS("hello")
	_, threeX := ParseSMS("3x")
	cases := []struct {
		err   error
		pages []Page
		want  string
	}{
		{hello, one, `Unrecognised reply "hello". Reply 3a to acknowledge, 3r to resolve, 3e to escalate INC-42. Also 3s1/3s2/3s3 sets the severity, 3im/3tl/3cm takes a role, 3u TEXT posts an internal update, 3p TEXT a public one.`},
		{hello, two, `Unrecognised reply "hello". Open pages: 2 = INC-7, 1 = INC-4. Reply 2a to acknowledge, 2r to resolve, 2e to escalate INC-7; the same with another code for another page. Also 2s1/2s2/2s3 sets the severity, 2im/2tl/2cm takes a role, 2u TEXT posts an internal update, 2p TEXT a public one.`},
		{hello, nil, `Unrecognised reply "hello". You have no open pages. Each page SMS says its code: reply e.g. 1a to acknowledge, 1r to resolve, 1e to escalate. Also 1s1/1s2/1s3 sets the severity, 1im/1tl/1cm takes a role, 1u TEXT posts an internal update, 1p TEXT a public one. STOP turns SMS pages off.`},
		{threeX, one, `Unrecognised reply "3x". Reply 3a to acknowledge, 3r to resolve, 3e to escalate.`},
	}
	for _, c := range cases {
		got := SMSAnswer(c.err, c.pages)
		if got != c.want {
			t.Errorf("SMSAnswer(%v, %v)\n got %s\nwant %s", c.err, c.pages, got, c.want)
		}
		if strings.Contains(got, "<code>") {
			t.Errorf("answer has a placeholder: %s", got)
		}
	}
	if _, err := ParseSMS("x"); strings.Contains(err.Error(), "<code>") {
		t.Errorf("generic help has a placeholder: %s", err)
	}
}

// TestSMSHelpNamesPracticeWords: the HELP answer names the practice replies
// of spec §5.5 — severity (3s1), roles (3im, 3tl, 3cm) and updates (3u,
// 3p) — with the phone's own code, and stays within the page budget of
// notify.MaxSMSSegments segments even with six open pages and the longest
// codes (fewer pages are listed, the commands are never cut).
func TestSMSHelpNamesPracticeWords(t *testing.T) {
	var many []Page
	for i := 0; i < 6; i++ {
		many = append(many, Page{Code: MaxReplyCode - i, Key: "INC-" + strconv.Itoa(999990+i)})
	}
	cases := []struct {
		pages []Page
		code  string
	}{
		{nil, "1"},
		{[]Page{{Code: 3, Key: "INC-42"}}, "3"},
		{[]Page{{Code: 2, Key: "INC-7"}, {Code: 1, Key: "INC-4"}}, "2"},
		{many, strconv.Itoa(MaxReplyCode)},
	}
	for _, c := range cases {
		got := SMSHelp(c.pages)
		for _, w := range []string{"a to acknowledge", "s1/", "s3 sets the severity", "im/", "tl/", "cm takes a role", "u TEXT", "p TEXT"} {
			if !strings.Contains(got, c.code+w) {
				t.Errorf("help for %d pages lacks %q: %s", len(c.pages), c.code+w, got)
			}
		}
		if n := notify.SMSSegments(got); n > notify.MaxSMSSegments {
			t.Errorf("help for %d pages needs %d segments: %s", len(c.pages), n, got)
		}
	}
}
