package notify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pagerd/pagerd/incident"
)

// SMSBody renders the page SMS: key, severity, service and title first (a
// lock screen shows only the start), then the alert count, the first alert's
// graph link when it fits without cutting the title, and the reply
// instructions, e.g.
//
//	INC-42 sev1 checkout: HighErrorRate - 3 alerts. Reply 3a to ack, 3r to resolve, 3e to escalate
//
// The body always fits in MaxSMSSegments segments (SMSSegments). The title is
// what gets shortened; the reply instructions are kept whole because without
// them the page cannot be acted on. A summary lists as many bundled incidents
// as fit and counts the rest.
func SMSBody(m *Message) string {
	if m == nil {
		return fitSMS("", "pagerd notification", "")
	}
	if isRoleMessage(m) {
		return roleSMS(m)
	}
	tail := smsReply(m.ReplyCode)
	if m.IsSummary() {
		return smsSummary(m.Summary, tail)
	}
	inc := m.Incident
	if inc == nil {
		return fitSMS("", "pagerd notification", tail)
	}
	if m.Kind == KindUpdateOverdue {
		return overdueSMS(m)
	}
	head := incidentHead(inc) + ": "
	if strings.TrimSpace(inc.Title) == "" {
		head = incidentHead(inc)
	}
	title, count := OneLine(inc.Title), " - "+alertCount(inc)+"."
	if console := ConsoleLink(m.PublicURL, inc); console != "" && smsFits(candidate(head, "", count+" "+console+tail)) {
		// Every page carries the console link (spec §5.6); a long title is
		// cut for it, as for the reply instructions. Only a public_url too
		// long to fit beside the head and the reply instructions is left
		// out. The graph link comes only when it fits beside all of them.
		count += " " + console
	}
	// The graph link and the bridge link only when they fit beside the
	// whole title: a cut title costs the on-call more than a missing link,
	// which the email and the incident carry anyway. The bridge goes first
	// when only one fits: it is where the responders meet.
	link, bridge := smsLink(inc), smsBridge(m.BridgeURL)
	for _, extra := range smsExtras(link, bridge) {
		if smsFits(head + title + count + extra + tail) {
			return head + title + count + extra + tail
		}
	}
	return fitSMS(head, title, count+tail)
}

// smsBridge is the SMS form of a bridge URL, or "" for none or a URL with
// a space (which a phone would cut).
func smsBridge(u string) string {
	u = OneLine(u)
	if u == "" || strings.ContainsRune(u, ' ') {
		return ""
	}
	return " Bridge: " + u
}

// smsExtras are the link combinations to try, best first.
func smsExtras(link, bridge string) []string {
	var out []string
	if link != "" && bridge != "" {
		out = append(out, " "+link+bridge)
	}
	if bridge != "" {
		out = append(out, bridge)
	}
	if link != "" {
		out = append(out, " "+link)
	}
	return out
}

// smsLink is the graph link of the first firing alert that has one, else of
// the first alert that has one.
func smsLink(inc *incident.Incident) string {
	first := ""
	for i := range inc.Alerts {
		a := &inc.Alerts[i]
		link := OneLine(a.GeneratorURL)
		if link == "" || strings.ContainsRune(link, ' ') {
			continue
		}
		if a.Status != "resolved" {
			return link
		}
		if first == "" {
			first = link
		}
	}
	return first
}

// smsReply is the reply instruction for code, or "" without a code. The
// wording is the spec's (§4 SMS replies).
func smsReply(code string) string {
	code = OneLine(code)
	if code == "" {
		return ""
	}
	return fmt.Sprintf(" Reply %[1]sa to ack, %[1]sr to resolve, %[1]se to escalate", code)
}

// smsSummary lists whole incidents while they fit and says how many did not.
func smsSummary(incs []*incident.Incident, tail string) string {
	lines := summaryLines(incs)
	head := fmt.Sprintf("pagerd: %d incidents: ", len(lines))
	for k := len(lines); k >= 1; k-- {
		s := head + strings.Join(lines[:k], "; ")
		if k < len(lines) {
			s += fmt.Sprintf("; +%d more", len(lines)-k)
		}
		if s += tail; SMSSegments(s) <= MaxSMSSegments {
			return s
		}
	}
	more := ""
	if len(lines) > 1 {
		more = fmt.Sprintf("; +%d more", len(lines)-1)
	}
	return fitSMS(head, lines[0], more+tail)
}

// smsCutLimit bounds the text fitSMS searches: no more runes than this can
// ever fit in two segments, so longer input is cut first to keep the search
// cheap on hostile titles.
const smsCutLimit = 2 * GSM7PartSeptets

// fitSMS returns head+cut+tail if it fits in MaxSMSSegments, else shortens
// cut (marking the cut with an ellipsis). If even an empty cut does not fit,
// head is shortened too; the tail goes only as a last resort.
func fitSMS(head, cut, tail string) string {
	if full := head + cut + tail; SMSSegments(full) <= MaxSMSSegments {
		return full
	}
	switch {
	case smsFits(candidate(head, "", tail)):
		return shrink(head, cut, tail)
	case smsFits(candidate("", "", tail)):
		return shrink("", head+cut, tail)
	}
	return shrink("", head+cut+tail, "")
}

// shrink finds the longest prefix of cut that fits between head and tail.
// Precondition: candidate(head, "", tail) fits. The binary search only ever
// returns a length it checked, so the result fits even if adding a rune
// somewhere lowered the segment count.
func shrink(head, cut, tail string) string {
	r := []rune(cut)
	if len(r) > smsCutLimit {
		r = r[:smsCutLimit]
	}
	lo, hi := 0, len(r)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if smsFits(candidate(head, string(r[:mid]), tail)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return candidate(head, string(r[:lo]), tail)
}

// candidate joins head, a shortened cut and tail with an ellipsis. "…" is
// not in the GSM-7 alphabet: in an otherwise GSM-7 text it would switch the
// whole message to UCS-2 and cut its room from 306 to 134 characters, so
// GSM-7 text gets "..." instead.
func candidate(head, cut, tail string) string {
	cut = strings.TrimRightFunc(cut, unicode.IsSpace)
	ell := "…"
	if IsGSM7(head + cut + tail) {
		ell = "..."
	}
	return head + cut + ell + tail
}

func smsFits(s string) bool { return SMSSegments(s) <= MaxSMSSegments }

// EmailSubject is the page subject, e.g. "[INC-42] sev1 checkout: HighErrorRate".
// Summary subjects name how many incidents are bundled and the first few keys.
func EmailSubject(m *Message) string {
	switch {
	case m == nil:
		return "[pagerd] notification"
	case m.Notice != nil:
		return OneLine(m.Notice.Subject)
	case m.IsSummary():
		return summarySubject(m.Summary)
	case m.Incident == nil:
		return "[pagerd] notification"
	case m.Kind == KindUpdateOverdue:
		return overdueSubject(m)
	case isRoleMessage(m):
		return roleSubject(m)
	}
	inc := m.Incident
	s := "[" + incidentKey(inc) + "]"
	if m.Resolution != nil {
		s += " Summary:"
	}
	if sev := OneLine(inc.Severity); sev != "" {
		s += " " + sev
	}
	if svc := OneLine(inc.Service); svc != "" {
		s += " " + svc + ":"
	}
	if t := OneLine(inc.Title); t != "" {
		s += " " + truncateRunes(t, maxSubjectTitle)
	}
	return s
}

// maxSubjectTitle keeps subjects readable in a mail client's list view; the
// full title is in the body.
const maxSubjectTitle = 200

func summarySubject(incs []*incident.Incident) string {
	const listed = 5
	keys := make([]string, 0, listed)
	for _, inc := range incs {
		if len(keys) == listed {
			break
		}
		if inc != nil {
			keys = append(keys, incidentKey(inc))
		}
	}
	s := fmt.Sprintf("[pagerd] %d incidents: %s", len(incs), strings.Join(keys, ", "))
	if len(incs) > len(keys) {
		s += ", …"
	}
	return s
}

// EmailBody is the plain-text page: the incident, every alert with its
// labels, annotations and runbook, graph (Prometheus' generatorURL) and
// silence links, the dedup key, and — when ReplyTo is
// set — how to act by replying. A summary lists each bundled incident on one
// line. Lines end in "\n"; the mail writer converts to CRLF.
func EmailBody(m *Message) string {
	if m != nil && m.Notice != nil {
		return m.Notice.Body
	}
	var b strings.Builder
	switch {
	case m == nil:
		b.WriteString("pagerd notification\n")
	case m.IsSummary():
		writeSummary(&b, m.Summary, m.PublicURL)
	case m.Incident == nil:
		b.WriteString("pagerd notification\n")
	case m.Kind == KindUpdateOverdue:
		writeOverdue(&b, m)
		if m.ID != "" {
			fmt.Fprintf(&b, "\n-- \npagerd notification %s\n", OneLine(m.ID))
		}
		return b.String()
	case isRoleMessage(m):
		writeRoleBody(&b, m)
	case m.Resolution != nil:
		writeResolution(&b, m.Resolution)
		writeServiceLinks(&b, m)
	default:
		writeIncident(&b, m.Incident, m.Step, m.Loop, m.BridgeURL)
		writeServiceLinks(&b, m)
		if link := ConsoleLink(m.PublicURL, m.Incident); link != "" {
			fmt.Fprintf(&b, "\nOpen %s in pagerd: %s\n", incidentKey(m.Incident), link)
		}
	}
	if m != nil && !isRoleMessage(m) {
		writeReplyHelp(&b, m)
	}
	if m != nil {
		if m.ID != "" {
			fmt.Fprintf(&b, "\n-- \npagerd notification %s\n", OneLine(m.ID))
		}
	}
	return b.String()
}

// writeServiceLinks adds the service's runbook and continuity plan, so
// whoever is paged finds the recovery procedure from the page itself.
func writeServiceLinks(b *strings.Builder, m *Message) {
	if m.Runbook == "" && m.ContinuityPlan == "" {
		return
	}
	b.WriteString("\n")
	field(b, "Runbook", OneLine(m.Runbook))
	field(b, "Continuity plan", OneLine(m.ContinuityPlan))
}

func writeSummary(b *strings.Builder, incs []*incident.Incident, publicURL string) {
	lines := summaryLines(incs)
	fmt.Fprintf(b, "%d incidents sent you messages in a short time; they are bundled into this message:\n\n", len(lines))
	links := summaryLinks(incs, publicURL)
	for i, l := range lines {
		b.WriteString("  " + l + "\n")
		if i < len(links) && links[i] != "" {
			b.WriteString("    " + links[i] + "\n")
		}
	}
}

func writeIncident(b *strings.Builder, inc *incident.Incident, step, loop int, bridgeURL string) {
	fmt.Fprintf(b, "%s: %s\n\n", incidentHead(inc), OneLine(inc.Title))
	field(b, "Status", string(inc.Status))
	field(b, "Service", inc.Service)
	field(b, "Severity", inc.Severity)
	if !inc.CreatedAt.IsZero() {
		field(b, "Triggered", fmtTime(inc.CreatedAt))
	}
	field(b, "Dedup key", inc.DedupKey)
	src := inc.Source
	if inc.Integration != "" {
		src += " (integration " + inc.Integration + ")"
	}
	field(b, "Source", src)
	// People count from 1; the API's step and loop fields stay 0-based.
	field(b, "Escalation", fmt.Sprintf("step %d, loop %d", step+1, loop+1))
	field(b, "Bridge", OneLine(bridgeURL))
	fmt.Fprintf(b, "\nAlerts: %s\n", alertCount(inc))
	for i := range inc.Alerts {
		writeAlert(b, &inc.Alerts[i], i+1, len(inc.Alerts))
	}
	writeAlertsNotShown(b, inc)
}

// writeAlertsNotShown says how many of the counted alerts the list above
// leaves out: past incident.MaxAlerts an incident counts new alerts but does
// not keep them, so the page cannot show them.
func writeAlertsNotShown(b *strings.Builder, inc *incident.Incident) {
	more := inc.AlertCount - len(inc.Alerts)
	if more <= 0 {
		return
	}
	noun := "alerts"
	if more == 1 {
		noun = "alert"
	}
	fmt.Fprintf(b, "\n…and %d more %s not shown: an incident keeps its first %d alerts; the rest are counted, not kept (see the source).\n",
		more, noun, incident.MaxAlerts)
}

func writeAlert(b *strings.Builder, a *incident.Alert, n, of int) {
	fmt.Fprintf(b, "\n[%d/%d] %s", n, of, orDefault(OneLine(a.Status), "firing"))
	if name := OneLine(a.Labels["alertname"]); name != "" {
		b.WriteString(" " + name)
	}
	if !a.StartsAt.IsZero() {
		b.WriteString(" since " + fmtTime(a.StartsAt))
	}
	b.WriteString("\n")
	if a.Fingerprint != "" {
		fmt.Fprintf(b, "  Fingerprint: %s\n", OneLine(a.Fingerprint))
	}
	writeMap(b, "Labels", a.Labels, "=")
	writeMap(b, "Annotations", a.Annotations, ": ")
	for _, k := range []string{"runbook_url", "runbook"} {
		if v := OneLine(a.Annotations[k]); v != "" {
			fmt.Fprintf(b, "  Runbook: %s\n", v)
			break
		}
	}
	if v := OneLine(a.GeneratorURL); v != "" {
		fmt.Fprintf(b, "  Graph: %s\n", v)
	}
	if v := OneLine(a.SilenceURL); v != "" {
		fmt.Fprintf(b, "  Silence: %s\n", v)
	}
}

// writeMap prints a label or annotation map sorted by key, so the same
// incident always renders the same body. Multi-line values (annotations
// often are) are indented under their key.
func writeMap(b *strings.Builder, title string, m map[string]string, sep string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(b, "  %s:\n", title)
	for _, k := range keys {
		v := strings.ReplaceAll(strings.ToValidUTF8(m[k], "\uFFFD"), "\r\n", "\n")
		v = strings.ReplaceAll(strings.TrimRight(v, "\n"), "\n", "\n      ")
		fmt.Fprintf(b, "    %s%s%s\n", OneLine(k), sep, v)
	}
}

func writeReplyHelp(b *strings.Builder, m *Message) {
	if m.ReplyTo == "" {
		return
	}
	what := "this notification"
	if m.Incident != nil && !m.IsSummary() {
		what = incidentKey(m.Incident)
	}
	fmt.Fprintf(b, "\nTo act on %s, reply to this email with ack, resolve or escalate as the first line.\n", what)
}

func field(b *strings.Builder, name, v string) {
	if v = OneLine(v); v != "" {
		fmt.Fprintf(b, "%-11s %s\n", name+":", v)
	}
}

// summaryLines renders one line per bundled incident; nil entries are skipped.
func summaryLines(incs []*incident.Incident) []string {
	lines := make([]string, 0, len(incs))
	for _, inc := range incs {
		if inc == nil {
			continue
		}
		l := incidentHead(inc)
		if inc.Status == incident.Resolved {
			// Only a resolution summary mail is bundled for a resolved
			// incident (pages of resolved incidents are dropped): say so.
			l += " resolved"
		}
		if t := OneLine(inc.Title); t != "" {
			l += ": " + t
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		lines = append(lines, "(no incident details)")
	}
	return lines
}

// incidentHead is "INC-42 sev1 checkout", leaving out empty parts.
func incidentHead(inc *incident.Incident) string {
	parts := []string{incidentKey(inc)}
	for _, p := range []string{inc.Severity, inc.Service} {
		if p = OneLine(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

// incidentKey prefers the recorded key and falls back to the id.
func incidentKey(inc *incident.Incident) string {
	if k := OneLine(inc.Key); k != "" {
		return k
	}
	return incident.KeyFor(inc.ID)
}

func alertCount(inc *incident.Incident) string {
	n := inc.AlertCount
	if n <= 0 {
		n = len(inc.Alerts)
	}
	if n == 1 {
		return "1 alert"
	}
	return strconv.Itoa(n) + " alerts"
}

// OneLine makes s safe for a single line of SMS text or a header: valid
// UTF-8, control and separator characters turned into spaces, runs of space
// collapsed. Titles come from alert sources we do not control.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimRightFunc(string(r[:n]), unicode.IsSpace) + "…"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
