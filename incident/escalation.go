package incident

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrStale is returned for an escalation or delivery command planned
// against a state that has moved on: another leader already started that
// step, the incident was acknowledged meanwhile, the outcome is for an
// attempt already recorded. Nothing changes; the leader replans from the
// new state.
var ErrStale = errors.New("stale escalation command")

// ErrDuplicate is returned (wrapped) by ApplyAction for a DedupID already
// applied; the incident is returned as it stands and nothing changes.
var ErrDuplicate = errors.New("duplicate reply")

// Reasons a step starts.
const (
	ReasonTrigger    = "trigger"        // step 0 of a new incident
	ReasonTimeout    = "escalate_after" // the previous step's time ran out
	ReasonEscalate   = "escalate"       // a person asked for the next step
	ReasonAckTimeout = "ack_timeout"    // acknowledged too long without a resolve
)

// StepStart is the leader's plan for the next escalation step of one
// incident: which step, whom it pages and when, and when the step after it
// is due. The leader resolves schedules and rotations at the instant it
// plans; replicas only record the plan, so they need no schedule code and
// cannot diverge on it.
type StepStart struct {
	Incident  uint64 `json:"incident"`
	ExpectSeq int    `json:"expect_seq"`
	Reason    string `json:"reason"`
	Step      int    `json:"step"`
	Loop      int    `json:"loop"`
	// Exhausted: the policy has no step left; nothing is paged.
	Exhausted bool       `json:"exhausted,omitempty"`
	NextAt    *time.Time `json:"next_at"`
	// AckDeadline, for an ack timeout, is the acknowledgement time plus the
	// service's ack_timeout as the leader planned it. Apply refuses the step
	// before it (never early), as it refuses other steps before next_at.
	AckDeadline *time.Time `json:"ack_deadline,omitempty"`
	// Notifications are the pages of the step with ID, User, Channel, To and
	// DueAt set; Status is queued, or failed with Error when the plan already
	// knows it cannot be sent (a user with no phone).
	Notifications []Notification `json:"notifications"`
	// Message is the timeline line of the step: whom it pages and why.
	Message string `json:"message"`
	// LogVersion is the version of the log entry it was decoded from; see
	// LogV1. Not part of the command's JSON.
	LogVersion uint8 `json:"-"`
	// planned: Notifications were made for this apply alone (the plan
	// of step 0 inside a trigger, FirstStep.stepStart), so the incident may
	// keep the slice instead of a copy.
	planned bool
}

// ApplyStepStart records a step start. It returns ErrStale, changing
// nothing, unless the incident is still where the plan expected it: same
// Seq, triggered (acknowledged for an ack timeout), and the step due.
func (s *State) ApplyStepStart(now time.Time, st *StepStart) (*Incident, error) {
	inc, err := s.applyStepStart(now, st)
	if err != nil {
		return nil, err
	}
	return inc.Clone(), nil
}

// RecordStepStart is ApplyStepStart without the copy of the incident: the
// FSM applies every step start on every node, where nobody reads the
// incident it returned (a copy per step on three nodes showed in storm
// profiles). It returns the incident's id.
func (s *State) RecordStepStart(now time.Time, st *StepStart) (uint64, error) {
	inc, err := s.applyStepStart(now, st)
	if err != nil {
		return 0, err
	}
	return inc.ID, nil
}

func (s *State) applyStepStart(now time.Time, st *StepStart) (*Incident, error) {
	inc := s.own(s.byID(st.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(st.Incident))
	}
	esc := inc.Escalation
	if esc == nil || esc.Seq != st.ExpectSeq {
		return nil, fmt.Errorf("%w: %s is past step seq %d", ErrStale, inc.Key, st.ExpectSeq)
	}
	switch {
	case st.Reason == ReasonAckTimeout:
		if inc.Status != Acknowledged {
			return nil, fmt.Errorf("%w: %s is %s, not acknowledged", ErrStale, inc.Key, inc.Status)
		}
		if st.LogVersion != LogV1 && (st.AckDeadline == nil || now.Before(*st.AckDeadline) || inc.AcknowledgedAt.After(*st.AckDeadline)) {
			return nil, fmt.Errorf("%w: %s has no ack timeout due at %s", ErrStale, inc.Key, now.UTC().Format(time.RFC3339Nano))
		}
		inc.Status = Triggered
		inc.AcknowledgedAt, inc.AcknowledgedBy = nil, ""
		inc.addEntry(now, EntryRetriggered, "pagerd", "acknowledged but not resolved within the service's ack_timeout; escalation starts over")
	case inc.Status != Triggered:
		return nil, fmt.Errorf("%w: %s is %s", ErrStale, inc.Key, inc.Status)
	case esc.NextAt == nil || now.Before(*esc.NextAt):
		// Never early: the leader's timer and the stamped time agree that
		// the step is due, or nothing happens.
		return nil, fmt.Errorf("%w: %s has no step due at %s", ErrStale, inc.Key, now.UTC().Format(time.RFC3339Nano))
	}
	esc.Seq++
	esc.Escalated = false
	inc.DeferredUntil = nil // paging has begun
	at := now
	esc.StepStartedAt = &at
	if st.planned {
		esc.NextAt = st.NextAt // made for this apply (FirstStep.stepStart)
	} else {
		esc.NextAt = cloneTime(st.NextAt)
	}
	if st.Exhausted {
		esc.Exhausted, esc.NextAt = true, nil
		inc.addEntry(now, EntryExhausted, "pagerd", st.Message)
		return inc, nil
	}
	esc.Step, esc.Loop = st.Step, st.Loop
	if st.LogVersion != LogV1 {
		// An ack timeout after the policy ran out starts it over: it is
		// no longer exhausted, or its later steps would never be due.
		esc.Exhausted = false
	}
	if st.planned && len(inc.Notifications) == 0 {
		inc.Notifications = st.Notifications[:0] // each written back to its own place below
	} else {
		inc.Notifications = slices.Grow(inc.Notifications, len(st.Notifications))
	}
	for _, n := range st.Notifications {
		n.Step, n.Loop = st.Step, st.Loop
		if n.Status != NotifyFailed {
			n.Status = NotifyQueued
		}
		n.SentAt, n.HeldAt = nil, nil
		if n.Channel == ChannelSMS && n.Status == NotifyQueued {
			n.ReplyCode = s.replyCode(n.To, inc.ID)
		}
		inc.Notifications = append(inc.Notifications, n)
	}
	inc.addEntry(now, EntryStep, "pagerd", st.Message)
	for _, n := range st.Notifications {
		if n.Status == NotifyFailed {
			inc.addEntry(now, EntryNotifyFailed, "pagerd", fmt.Sprintf("cannot page %s by %s: %s", n.User, n.Channel, n.Error))
		}
	}
	return inc, nil
}

// Delivery outcomes.
const (
	OutcomeSent   = "sent"
	OutcomeRetry  = "retry"
	OutcomeFailed = "failed"
	// OutcomeHeld records that flood control holds a due page for the next
	// summary: no attempt is made or counted, the page stays queued.
	OutcomeHeld = "held"
)

// Delivery is the outcome of sending one message, which may stand for
// several notifications (a flood-control summary).
type Delivery struct {
	Items []DeliveryItem `json:"items"`
}

// DeliveryItem is the outcome of one attempt at one notification.
type DeliveryItem struct {
	Incident     uint64 `json:"incident"`
	Notification string `json:"notification"`
	// Attempt is the attempt this outcome is for (1-based). It applies only
	// if the notification has Attempt-1 attempts recorded, so an outcome
	// reported twice (old and new leader) counts once.
	Attempt int        `json:"attempt"`
	Outcome string     `json:"outcome"` // sent | retry | failed | held
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// HeldUntil, for a hold, is when the leader expects the person's window
	// to have room again, so the timeline can say when the summary goes out.
	HeldUntil  *time.Time `json:"held_until,omitempty"`
	Error      string     `json:"error,omitempty"`
	ProviderID string     `json:"provider_id,omitempty"`
	Summary    string     `json:"summary,omitempty"`
}

// ApplyDelivery records delivery outcomes. It returns how many items
// applied; stale items (an attempt already recorded, an unknown
// notification) are skipped.
func (s *State) ApplyDelivery(now time.Time, d *Delivery) int {
	applied := 0
	for i := range d.Items {
		if s.applyDeliveryItem(now, &d.Items[i]) {
			applied++
		}
	}
	return applied
}

func (s *State) applyDeliveryItem(now time.Time, it *DeliveryItem) bool {
	inc := s.own(s.byID(it.Incident))
	if inc == nil {
		return false
	}
	if n := inc.notification(it.Notification); n != nil && n.Kind == KindSummary {
		return s.applySummaryDelivery(now, inc, n, it)
	}
	n := inc.notification(it.Notification)
	if n == nil || n.Attempts != it.Attempt-1 {
		return false
	}
	if it.Outcome == OutcomeHeld {
		return applyHold(now, inc, n, it)
	}
	// A page that went out is recorded as sent even when an acknowledgement
	// cancelled it meanwhile: it was in flight, and the record must be true.
	if n.Status != NotifyQueued && !(n.Status == NotifyCancelled && it.Outcome == OutcomeSent) {
		return false
	}
	n.Attempts = it.Attempt
	switch it.Outcome {
	case OutcomeSent:
		at := now
		n.Status, n.SentAt, n.Error = NotifySent, &at, ""
		n.ProviderID, n.Summary = it.ProviderID, it.Summary
		inc.addEntry(now, EntryNotified, "pagerd", sentMessage(n, it.Summary))
	case OutcomeRetry:
		n.Error = it.Error
		if it.RetryAt != nil {
			n.DueAt = *it.RetryAt
		}
	default: // failed
		n.Status, n.Error = NotifyFailed, it.Error
		inc.addEntry(now, EntryNotifyFailed, "pagerd",
			fmt.Sprintf("could not page %s by %s after %d attempt(s): %s", orWebhook(n), n.Channel, n.Attempts, it.Error))
	}
	return true
}

// applyHold records the first time flood control holds a queued page; a
// repeat (the next leader holding it again) changes nothing.
func applyHold(now time.Time, inc *Incident, n *Notification, it *DeliveryItem) bool {
	if n.Status != NotifyQueued || n.HeldAt != nil {
		return false
	}
	at := now
	n.HeldAt = &at
	inc.addEntry(now, EntryNotifyHeld, "pagerd", holdMessage(n, it.HeldUntil))
	return true
}

// sentMessage is the timeline line of a page sent, alone or in summary.
// It and holdMessage are written into one buffer (every page of a storm
// has both, on every node; fmt and the concatenations cost four
// allocations each): TestDeliveryMessagesAsBefore holds them to the
// fmt.Sprintf forms they replace, since the timeline is replicated.
func sentMessage(n *Notification, summary string) string {
	b := make([]byte, 0, 160)
	b = append(b, "paged "...)
	b = appendOrWebhook(b, n)
	b = append(b, " by "...)
	b = append(b, n.Channel...)
	if summary != "" {
		b = append(b, " in flood-control summary "...)
		b = append(b, summary...)
	}
	if n.HeldAt != nil {
		b = append(b, ", released from the flood-control hold of "...)
		b = n.HeldAt.UTC().AppendFormat(b, time.RFC3339)
	}
	return string(b)
}

// holdMessage is the timeline line of a page held by flood control.
func holdMessage(n *Notification, until *time.Time) string {
	b := make([]byte, 0, 192)
	b = append(b, "page to "...)
	b = append(b, n.User...)
	b = append(b, " by "...)
	b = append(b, n.Channel...)
	b = append(b, " held by flood control: "...)
	b = append(b, n.User...)
	b = append(b, " has had the most messages a window allows"...)
	if until != nil {
		b = append(b, "; it goes out in a summary at about "...)
		b = until.UTC().AppendFormat(b, time.RFC3339)
	}
	return string(b)
}

func appendOrWebhook(b []byte, n *Notification) []byte {
	if n.User == "" {
		return append(append(b, "webhook "...), n.To...)
	}
	return append(b, n.User...)
}

func orWebhook(n *Notification) string {
	if n.User == "" {
		return "webhook " + n.To
	}
	return n.User
}

func (inc *Incident) notification(id string) *Notification {
	for i := range inc.Notifications {
		if inc.Notifications[i].ID == id {
			return &inc.Notifications[i]
		}
	}
	return nil
}

// stopEscalation cancels queued notifications and the pending step: an
// acknowledgement or resolve stops all paging (spec §4 Escalation). An
// acknowledgement leaves role notifications queued (all false): a role
// still needs someone after the incident has one.
func stopEscalation(inc *Incident, all bool) {
	for i := range inc.Notifications {
		if inc.Notifications[i].Status == NotifyQueued && (all || inc.Notifications[i].Kind == KindIncident) {
			inc.Notifications[i].Status = NotifyCancelled
		}
	}
	if inc.Escalation != nil {
		inc.Escalation.NextAt = nil
	}
	inc.DeferredUntil = nil // nothing waits for business hours any more
}

// replyCode is the SMS reply code of incident id on phone: the one it
// already has there, else the lowest code free among the phone's open
// incidents (spec §4 SMS replies).
func (s *State) replyCode(phone string, id uint64) int {
	codes := s.phoneCodes[phone]
	if codes == nil {
		codes = map[uint64]int{}
		s.phoneCodes[phone] = codes
	}
	if c, ok := codes[id]; ok {
		return c
	}
	inUse := make([]bool, len(codes)+2)
	for _, c := range codes {
		if c < len(inUse) {
			inUse[c] = true
		}
	}
	c := 1
	for inUse[c] {
		c++
	}
	codes[id] = c
	return c
}

// releaseCodes frees a resolved incident's reply codes.
func (s *State) releaseCodes(inc *Incident) {
	for _, n := range inc.Notifications {
		if n.Channel == ChannelSMS && n.ReplyCode != 0 {
			if codes := s.phoneCodes[n.To]; codes != nil {
				delete(codes, inc.ID)
				if len(codes) == 0 {
					delete(s.phoneCodes, n.To)
				}
			}
		}
	}
}

// SMSOptOut is STOP (Off) or START from a phone.
type SMSOptOut struct {
	Phone   string `json:"phone"`
	Off     bool   `json:"off"`
	DedupID string `json:"dedup_id,omitempty"`
}

// ApplySMSOptOut records STOP or START. It reports false for a duplicate.
func (s *State) ApplySMSOptOut(now time.Time, o *SMSOptOut) bool {
	if o.DedupID != "" {
		if _, dup := s.dedup[o.DedupID]; dup {
			return false
		}
		s.remember(o.DedupID, 0)
	}
	if o.Off {
		s.smsOff[o.Phone] = now
	} else {
		delete(s.smsOff, o.Phone)
	}
	return true
}

// SMSOff reports whether phone sent STOP, and when.
func (s *State) SMSOff(phone string) (time.Time, bool) {
	t, ok := s.smsOff[phone]
	return t, ok
}

// maxDedup bounds the remembered reply ids. Twilio and SMTP senders retry
// within minutes; ten thousand replies is days of a busy cluster.
const maxDedup = 10000

func (s *State) remember(id string, incidentID uint64) {
	s.dedup[id] = incidentID
	s.dedupOrder = append(s.dedupOrder, id)
	if len(s.dedupOrder) > maxDedup {
		delete(s.dedup, s.dedupOrder[0])
		s.dedupOrder = s.dedupOrder[1:]
	}
}
