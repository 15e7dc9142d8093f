package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The patterns below run line by line on already-trimmed lines. Go's RE2
// engine is linear-time, so hostile lines cannot make them slow.
var (
	// "On Mon, 3 Mar 2025 at 10:00, Alice <a@x> wrote:" and its common
	// translations (where the verb may precede the name, as in German
	// "Am … schrieb Alice <a@x>:"); also matched when wrapped over two lines.
	attributionRe = regexp.MustCompile(`(?i)^(on|am|le|el|op|il|den|em)\s.*\b(wrote|schrieb|a écrit|escribió|schreef|ha scritto|skrev|escreveu)(\s.*)?:$`)
	// "alice@example.com wrote:" with no leading "On".
	bareAttributionRe = regexp.MustCompile(`(?i)^\S.*@.*\bwrote\s*:$`)
	// "-----Original Message-----", "---------- Forwarded message ---------"
	// and localized forms: a label between runs of dashes.
	dashedSeparatorRe = regexp.MustCompile(`(?i)^-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré|mensaje original|mensaje reenviado)\s*-{2,}$`)
	// Outlook draws a rule of underscores above its quoted header block.
	underscoreRuleRe = regexp.MustCompile(`^_{10,}$`)
	// Outlook-style header lines, possibly bolded as *From:* in plain text.
	headerFromRe  = regexp.MustCompile(`(?i)^\*?(from|von|de|van)\s*:\*?\s`)
	headerOtherRe = regexp.MustCompile(`(?i)^\*?(sent|date|to|subject|gesendet|datum|an|betreff|envoyé|à|objet|enviado|para|asunto|cc)\s*:\*?(\s|$)`)
	// Mobile and webmail footers. They are not cut markers (new text may
	// follow a quoted footer), just never the reply.
	mobileFooterRe = regexp.MustCompile(`(?i)^(sent from (my|mail for|outlook|yahoo|aol|samsung)\b|get outlook for\b|sent via\b|sent with\b|envoyé de mon\b|von meinem\b.*\bgesendet$|enviado desde mi\b|inviato da\b|verzonden vanaf\b)`)
)

// firstNewLine returns the first non-empty line of new text in a reply
// body, and false when there is none. Rules, in order for each line:
//
//  1. The signature separator "-- " (or "--") ends the new text.
//  2. Lines starting with ">" are quoted and skipped; so are mobile footers
//     ("Sent from my iPhone", "Get Outlook for iOS").
//  3. An attribution "On … wrote:" (one line, or two when wrapped, as Gmail
//     does; also "… <addr> wrote:" and translations) ends the new text,
//     unless a ">" quoted block follows it: then it only labels that block,
//     and text after the block is new (bottom-posting, inline answers).
//  4. Other cut markers end the new text: "-----Original Message-----" and
//     similar dashed labels incl. Gmail's "---------- Forwarded message
//     ---------"; Apple's "Begin forwarded message:"; Outlook's rule of
//     underscores; an Outlook header block ("From:" followed within four
//     lines by "Sent:"/"Date:", "To:", "Subject:" or "Cc:").
//  5. The first other non-empty line is the answer.
func firstNewLine(text string) (string, bool) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	skip := 0 // non-empty lines still to skip: the tail of a wrapped attribution
	for i, raw := range lines {
		if isSignatureSeparator(raw) {
			return "", false
		}
		line := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
		if line == "" {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if strings.HasPrefix(line, ">") || mobileFooterRe.MatchString(line) {
			continue
		}
		rest := lines[i+1:]
		if extra, ok := attribution(line, rest); ok {
			after := nextNonEmpty(rest, extra+1)
			if len(after) == extra+1 && strings.HasPrefix(after[extra], ">") {
				skip = extra
				continue
			}
			return "", false
		}
		if isCutMarker(line, rest) {
			return "", false
		}
		return line, true
	}
	return "", false
}

// isSignatureSeparator is "-- " per the usenet convention, and a bare "--"
// because many clients and relays strip the trailing space.
func isSignatureSeparator(raw string) bool {
	return strings.TrimRight(raw, " \t\r") == "--"
}

// attribution reports whether line starts an attribution, and how many
// following non-empty lines belong to it (1 when wrapped: "On …, Alice
// <a@x>" then "wrote:").
func attribution(line string, rest []string) (extra int, ok bool) {
	if attributionRe.MatchString(line) || bareAttributionRe.MatchString(line) {
		return 0, true
	}
	next := nextNonEmpty(rest, 1)
	if len(next) == 1 && attributionRe.MatchString(line+" "+next[0]) {
		return 1, true
	}
	return 0, false
}

// isCutMarker reports whether line starts forwarded or Outlook-quoted
// material; rest are the raw lines after it, for the header block.
func isCutMarker(line string, rest []string) bool {
	switch {
	case dashedSeparatorRe.MatchString(line), underscoreRuleRe.MatchString(line),
		strings.EqualFold(line, "Begin forwarded message:"):
		return true
	}
	if headerFromRe.MatchString(line) {
		for _, l := range nextNonEmpty(rest, 4) {
			if headerOtherRe.MatchString(l) {
				return true
			}
		}
	}
	return false
}

// nextNonEmpty returns up to n following non-empty trimmed lines.
func nextNonEmpty(lines []string, n int) []string {
	var out []string
	for _, l := range lines {
		if len(out) == n {
			break
		}
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// commandFromLine returns the action named by the first word of line, or
// "". Leading punctuation (bold asterisks, quotes) is ignored; the word
// ends at the first non-letter, so "Ack, on it" and "resolved." count and
// "acknowledgement" or "escalation" do not.
func commandFromLine(line string) string {
	cmd, _ := parseLine(line)
	return cmd
}

// parseLine is commandFromLine that also reads a severity: "sev1".."sev3"
// as the whole first word ("sev1 - checkout is down", not "sev12") is
// ActionSeverity with that severity (spec §5.5); "take im" ("tl", "cm") is
// ActionRole with the role as arg.
func parseLine(line string) (cmd, arg string) {
	s := strings.TrimLeftFunc(line, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	word := strings.ToLower(s[:end])
	if word == "sev" && len(s) > end && s[end] >= '1' && s[end] <= '3' {
		rest := s[end+1:]
		if r, _ := utf8.DecodeRuneInString(rest); rest == "" || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return ActionSeverity, "sev" + s[end:end+1]
		}
		return "", ""
	}
	if word == "take" {
		return parseTake(s[end:])
	}
	return emailCommandWords[word], ""
}

// parseTake reads the role word after "take": "take im", "take IM.".
func parseTake(rest string) (cmd, role string) {
	fields := strings.FieldsFunc(strings.ToLower(rest), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
	if len(fields) == 0 {
		return "", ""
	}
	if r, ok := roleWords[fields[0]]; ok {
		return ActionRole, r
	}
	return "", ""
}

// subjectPrefixRe matches reply/forward prefixes, repeated and localized:
// Re, Fw, Fwd, AW/WG (de), SV/VS (nordic), Antw (nl), TR (fr), RIF (it),
// with optional counters such as "Re[2]:".
var subjectPrefixRe = regexp.MustCompile(`(?i)^\s*((re|fwd?|aw|wg|sv|vs|antw|tr|rif)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+`)

// commandFromSubject is used only when the body has no new text. It strips
// reply prefixes and everything from the first "[" (the page subject is
// "[INC-42] title", whose words must never count: "Cannot resolve DNS"),
// then reads the first word like a body line.
func commandFromSubject(subject string) string {
	s := subjectPrefixRe.ReplaceAllString(subject, "")
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	return commandFromLine(s)
}

// severityFromSubject is parseLine's severity for a subject, read as
// commandFromSubject reads it.
func severityFromSubject(subject string) string {
	s := subjectPrefixRe.ReplaceAllString(subject, "")
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i]
	}
	_, sev := parseLine(s)
	return sev
}
