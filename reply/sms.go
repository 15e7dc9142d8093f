package reply

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Actions a reply can ask for. The first three act on an incident; stop and
// start switch SMS to the sending phone off and on.
const (
	ActionAck      = "ack"
	ActionResolve  = "resolve"
	ActionEscalate = "escalate"
	ActionStop     = "stop"
	ActionStart    = "start"
	// ActionHelp asks for the phone's open codes and the commands; it
	// changes nothing.
	ActionHelp = "help"
	// ActionSeverity sets the incident's severity (Command.Severity).
	ActionSeverity = "severity"
)

// Limits of the SMS grammar.
const (
	// MaxSMSLen is the longest body ParseSMS looks at: Twilio's own limit
	// for a (concatenated) message. Anything longer is refused unread.
	MaxSMSLen = 1600
	// MaxReplyCode is the largest reply code accepted. Codes are the lowest
	// free positive integer per phone, so real ones are tiny; the cap keeps
	// hostile digit strings from overflowing.
	MaxReplyCode = 999999
)

// Command is what an inbound SMS asks for.
type Command struct {
	Code    int    // the reply code; 0 when absent
	HasCode bool   // false: act on the latest page sent to that phone
	Action  string // ActionAck, ActionResolve, ActionEscalate, ActionSeverity, ActionStop, ActionStart, or ""
	// Severity is the severity ActionSeverity sets ("sev1".."sev3").
	Severity string
	// Audience and Text are the update ActionUpdate posts (update.go).
	Audience, Text string
	// Role is the role ActionRole takes ("im" → "incident_manager").
	Role string
}

// ErrUnrecognisedSMS is matched (errors.Is) by every ParseSMS error. The
// error's own text is a complete sentence meant to be sent back to the
// phone in the TwiML answer.
var ErrUnrecognisedSMS = errors.New("unrecognised SMS reply")

// SMSError is a reply ParseSMS could not understand. Error() is the help
// text for the sender.
type SMSError struct {
	Input string // the body, trimmed and shortened for display
	msg   string
	// problem is the first sentence alone when the rest of msg is the
	// generic smsHelp, which SMSAnswer replaces by the phone's own codes.
	problem string
}

func (e *SMSError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrUnrecognisedSMS) hold.
func (e *SMSError) Unwrap() error { return ErrUnrecognisedSMS }

// smsHelp is the help without knowing the phone's pages (the parser does
// not); the webhook answers with SMSAnswer, which names the real codes.
const smsHelp = "Reply the page's code and a to acknowledge, r to resolve, e to escalate (e.g. 1a)."

// smsActionWords maps every accepted action word to its action. Single
// letters are what page SMS advertise; the short and long words and past
// tenses are what people type anyway, and none of them can mean anything
// else.
var smsActionWords = map[string]string{
	"a": ActionAck, "ack": ActionAck, "acked": ActionAck,
	"acknowledge": ActionAck, "acknowledged": ActionAck,
	"r": ActionResolve, "res": ActionResolve, "resolve": ActionResolve, "resolved": ActionResolve,
	"e": ActionEscalate, "esc": ActionEscalate, "escalate": ActionEscalate, "escalated": ActionEscalate,
}

// smsSeverityWords set a severity (spec §5.5: "3s1"); "sev1" is what
// people type when they do not remember the short form.
var smsSeverityWords = map[string]string{
	"s1": "sev1", "s2": "sev2", "s3": "sev3",
	"sev1": "sev1", "sev2": "sev2", "sev3": "sev3",
}

// smsOptWords are Twilio's default opt-out and opt-in keywords for long
// codes. Twilio blocks the number itself on these and still forwards the
// message, so pagerd must follow or it would keep sending into a block.
var smsOptWords = map[string]string{
	"stop": ActionStop, "stopall": ActionStop, "unsubscribe": ActionStop, "cancel": ActionStop,
	"end": ActionStop, "quit": ActionStop, "revoke": ActionStop, "optout": ActionStop,
	"start": ActionStart, "yes": ActionStart, "unstop": ActionStart,
	// Twilio's help keywords: answered with the phone's open codes.
	"help": ActionHelp, "info": ActionHelp,
	// Spellings people use for the same; harmless to honour.
	"stop all": ActionStop, "opt out": ActionStop, "opt-out": ActionStop,
}

// ParseSMS reads a reply to a page SMS. Accepted, case-insensitively, with
// surrounding spaces and punctuation ignored:
//
//	<code><action>    "3a", "3 A", " 3ack ", "3 resolve", "12e", "3s1"
//	<action>          "a", "ACK", "resolve", "s2"   (HasCode false: latest page)
//	opt-out           "STOP", "stopall", "UNSUBSCRIBE", "cancel", "end", "quit",
//	                  "revoke", "optout" (Twilio's list), "stop all", "opt out"
//	opt-in            "START", "yes", "unstop" (Twilio's list)
//	help              "HELP", "info": the phone's open codes and the commands
//
// where <action> is a|ack|acked|acknowledge|acknowledged,
// r|res|resolve|resolved, e|esc|escalate|escalated, or a severity
// s1|s2|s3|sev1|sev2|sev3 (ActionSeverity, spec §5.5), or a role
// im|tl|cm (ActionRole: take the incident's incident_manager, tech_lead or
// comms_manager role, spec §5.5), and <code> is a
// positive integer up to MaxReplyCode, optionally followed by one space.
// Anything else is an *SMSError whose text explains what to send.
func ParseSMS(body string) (Command, error) {
	if len(body) > MaxSMSLen {
		return Command{}, smsHelpErr(body, "Reply too long.")
	}
	if cmd, ok, err := parseUpdateSMS(body); ok {
		return cmd, err
	}
	s := strings.ToLower(strings.TrimFunc(body, isTrimmable))
	if s == "" {
		return Command{}, smsHelpErr(body, "Empty reply.")
	}
	fields := strings.Fields(s)
	if action, ok := smsOptWords[strings.Join(fields, " ")]; ok {
		return Command{Action: action}, nil
	}
	switch len(fields) {
	case 1:
		return parseCodeAction(body, fields[0], "")
	case 2:
		if !isDigits(fields[0]) {
			return Command{}, unrecognised(body)
		}
		return parseCodeAction(body, fields[0], fields[1])
	default:
		return Command{}, unrecognised(body)
	}
}

// parseCodeAction handles "<digits><word>" in one field, or digits and word
// as two fields.
func parseCodeAction(body, first, second string) (Command, error) {
	digits, word := first, second
	if second == "" {
		i := 0
		for i < len(first) && first[i] >= '0' && first[i] <= '9' {
			i++
		}
		digits, word = first[:i], first[i:]
	}
	action, ok := smsActionWords[word]
	sev, isSev := smsSeverityWords[word]
	if isSev {
		action, ok = ActionSeverity, true
	}
	role, isRole := roleWords[word]
	if isRole {
		action, ok = ActionRole, true
	}
	if digits == "" {
		if !ok {
			return Command{}, unrecognised(body)
		}
		return Command{Action: action, Severity: sev, Role: role}, nil
	}
	code, problem := parseCode(digits)
	if problem != "" {
		return Command{}, smsHelpErr(body, problem)
	}
	if !ok {
		return Command{}, smsErr(body, codeHelp(body, code))
	}
	return Command{Code: code, HasCode: true, Action: action, Severity: sev, Role: role}, nil
}

// parseCode returns the code, or a sentence saying why digits is not one.
func parseCode(digits string) (int, string) {
	trimmed := strings.TrimLeft(digits, "0")
	if trimmed == "" {
		return 0, "Reply codes start at 1."
	}
	if len(trimmed) > len(strconv.Itoa(MaxReplyCode)) {
		return 0, "No such reply code."
	}
	code, err := strconv.Atoi(trimmed)
	if err != nil || code > MaxReplyCode {
		return 0, "No such reply code."
	}
	return code, ""
}

// codeHelp answers a reply that had a code but no (known) action with the
// exact words to send for that code.
func codeHelp(body string, code int) string {
	c := strconv.Itoa(code)
	return "Unrecognised reply " + strconv.Quote(displayInput(body)) + ". Reply " +
		c + "a to acknowledge, " + c + "r to resolve, " + c + "e to escalate."
}

func unrecognised(body string) error {
	return smsHelpErr(body, "Unrecognised reply "+strconv.Quote(displayInput(body))+".")
}

func smsErr(body, msg string) error {
	return &SMSError{Input: displayInput(body), msg: msg}
}

// smsHelpErr is problem followed by the generic help.
func smsHelpErr(body, problem string) error {
	return &SMSError{Input: displayInput(body), msg: problem + " " + smsHelp, problem: problem}
}

// displayInput makes the body safe and short enough to echo back: valid
// UTF-8, no control characters, at most 20 characters.
func displayInput(body string) string {
	const max = 20
	s := strings.TrimSpace(strings.ToValidUTF8(body, "\uFFFD"))
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// isTrimmable is what may surround a command: spaces, punctuation, symbols
// such as emoji, and the invisible marks that ride along with emoji
// (variation selectors, zero-width joiners). Invalid UTF-8 (seen as RuneError) is not, so binary junk
// around "3a" is refused rather than silently dropped.
func isTrimmable(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) ||
		unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// TwiML wraps message in a messaging TwiML answer. An empty message gives an
// empty <Response/>, which tells Twilio to send nothing back. Text is XML
// escaped; characters XML cannot carry become U+FFFD.
func TwiML(message string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if message == "" {
		b.WriteString("<Response/>")
		return b.Bytes()
	}
	b.WriteString("<Response><Message>")
	_ = xml.EscapeText(&b, []byte(message)) // writes to a bytes.Buffer never fail
	b.WriteString("</Message></Response>")
	return b.Bytes()
}
