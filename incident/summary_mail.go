package incident

import (
	"fmt"
	"sort"
	"time"
)

// KindSummary marks the notification that mails an incident's resolution
// summary to one person (spec §5.4 Resolve). It lives beside the pages in
// Notifications so it goes through the same delivery path: queued in the
// replicated state when the resolve applies, sent by the leader, outcome
// committed after. A leader change therefore neither skips a summary nor
// sends one twice, beyond one in flight (spec §4 Delivery).
const KindSummary = "summary"

// When a resolve queues the summary mails. A resolve replayed from a log
// entry written before they existed applies as it did then (no mails, so
// an upgrade does not mail summaries of incidents resolved long ago): an
// alert group or event needs rules_version 2 (rulesSummary, stamped by the
// router; an older binary applies it by its own rules, the known window of
// rules versions), an action a log entry of version SummaryLogVersion
// (which the cluster's version gate writes once every member applies it).
const (
	rulesSummary = 2
	// SummaryLogVersion is the action log version of a resolve that mails
	// the summary, and of the impact action.
	SummaryLogVersion = 4
)

// mailsSummary reports whether a resolve action from a log entry of
// version v queues the summary mails; 0 is a command built in this binary.
func mailsSummary(v uint8) bool { return v == 0 || v >= SummaryLogVersion }

// SummaryRecipients are everyone who was paged or held a role, in the
// order first paged, then role holders in the order they took one.
func SummaryRecipients(inc *Incident) []string {
	out := PagedUsers(inc)
	seen := map[string]bool{}
	for _, u := range out {
		seen[u] = true
	}
	for _, u := range roleHolders(inc) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// SummaryNotificationID is the id of the summary mail to user about
// incident id: "n<id>-summary-<user>", so Notification() finds it.
func SummaryNotificationID(id uint64, user string) string {
	return "n" + uitoa(id) + "-summary-" + user
}

// queueSummaryMail queues one summary mail per recipient as the incident
// resolves. The address is the user's email in the config the leader sends
// under; the FSM needs no config for this. Resolve happens once per
// incident, so the mails are queued once.
func (s *State) queueSummaryMail(inc *Incident) {
	for _, u := range SummaryRecipients(inc) {
		inc.Notifications = append(inc.Notifications, Notification{
			ID: SummaryNotificationID(inc.ID, u), User: u, Channel: ChannelEmail,
			Status: NotifyQueued, DueAt: *inc.ResolvedAt, Kind: KindSummary,
		})
	}
	s.indexSummaryMail(inc)
}

// indexSummaryMail keeps pendingMail, the resolved incidents with a summary
// mail still queued, which the leader must send although the incident is
// no longer open.
func (s *State) indexSummaryMail(inc *Incident) {
	if s.pendingMail == nil {
		s.pendingMail = map[uint64]struct{}{}
	}
	if inc.Status == Resolved && inc.summaryMailQueued() {
		s.pendingMail[inc.ID] = struct{}{}
	} else {
		delete(s.pendingMail, inc.ID)
	}
}

func (inc *Incident) summaryMailQueued() bool {
	for i := range inc.Notifications {
		if n := &inc.Notifications[i]; n.Kind == KindSummary && n.Status == NotifyQueued {
			return true
		}
	}
	return false
}

// EachPendingSummary calls fn with every resolved incident that has a
// summary mail queued (not a copy: fn must not keep or change it), in id
// order.
func (s *State) EachPendingSummary(fn func(*Incident)) {
	ids := make([]uint64, 0, len(s.pendingMail))
	for id := range s.pendingMail {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if inc := s.byID(id); inc != nil {
			fn(inc)
		}
	}
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// applySummaryDelivery records the outcome of one summary mail, like a
// page's (attempt numbers make a repeated outcome count once), with a
// timeline line that says it was the summary. Flood control may hold it.
func (s *State) applySummaryDelivery(now time.Time, inc *Incident, n *Notification, it *DeliveryItem) bool {
	if n.Attempts != it.Attempt-1 {
		return false
	}
	if it.Outcome == OutcomeHeld {
		return applyHold(now, inc, n, it)
	}
	if n.Status != NotifyQueued {
		return false
	}
	n.Attempts = it.Attempt
	switch it.Outcome {
	case OutcomeSent:
		at := now
		n.Status, n.SentAt, n.Error = NotifySent, &at, ""
		n.ProviderID, n.Summary = it.ProviderID, it.Summary
		inc.addEntry(now, EntrySummarySent, "pagerd", "resolution summary mailed to "+n.User)
	case OutcomeRetry:
		n.Error = it.Error
		if it.RetryAt != nil {
			n.DueAt = *it.RetryAt
		}
	default:
		n.Status, n.Error = NotifyFailed, it.Error
		inc.addEntry(now, EntryNotifyFailed, "pagerd", fmt.Sprintf(
			"could not mail the resolution summary to %s after %d attempt(s): %s", n.User, n.Attempts, it.Error))
	}
	s.indexSummaryMail(inc)
	return true
}

// EntrySummarySent records a resolution summary mailed to one person.
const EntrySummarySent = "summary_sent"
