// Package incident is pagerd's incident model and its deterministic state
// machine: alerts and events in, deduplicated incidents with a timeline out.
//
// Every method that changes State takes the instant to record as an argument.
// The cluster leader stamps that instant into each replicated command, so every
// replica applying the same commands reaches the same state: nothing here reads a
// clock, a random source, or depends on map iteration order.
package incident

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Errors of ApplyAction. The API maps ErrNotFound to 404 and ErrConflict to 409.
var (
	ErrNotFound = errors.New("incident not found")
	ErrConflict = errors.New("transition not allowed")
	ErrInvalid  = errors.New("invalid action")
)

// State holds every incident. It is not safe for concurrent use: the cluster FSM
// serialises writers and guards readers.
type State struct {
	// incidents[i] has ID base+i+1: ids are dense and assigned in commit
	// order; an incident removed by retention leaves nil, and the removed
	// ones at the front are trimmed off (base moves past them).
	incidents []*Incident
	base      uint64
	// open maps service and dedup key to the open incident of that pair.
	open map[openKey]*Incident
	// alertIndex maps an open incident's alert fingerprints to positions in
	// Alerts, for an incident with alertIndexMin alerts or more (findAlert).
	alertIndex map[uint64]map[string]int
	// dropped holds, per open incident, the hashed fingerprints of alerts
	// past MaxAlerts, so that their repeats are not counted again.
	dropped map[uint64]map[uint64]struct{}
	// phoneCodes maps a phone to the SMS reply codes of its open incidents.
	phoneCodes map[string]map[uint64]int
	// smsOff holds the phones that sent STOP, with when.
	smsOff map[string]time.Time
	// dedup remembers applied reply ids (bounded, oldest first in dedupOrder).
	dedup      map[string]uint64
	dedupOrder []string
	// dedupRefused holds the refusal of a remembered reply that was refused
	// (ErrConflict), so its retry answers the same (rememberAction).
	dedupRefused map[string]string
	// pendingMail holds the resolved incidents with a summary mail still
	// queued (summary_mail.go); derived, rebuilt on restore.
	pendingMail map[uint64]struct{}
	// gen is the snapshot generation: an incident whose gen is older is
	// shared with a snapshot being written and must be copied before it
	// changes (copy on write), so snapshots never stop the apply path.
	gen uint64
	// actors are the timeline actors of ingest ("events:<integration>"),
	// made once each instead of on every trigger (actor); a cache, not
	// state, written only by apply.
	actors map[actorKey]string
}

type openKey struct{ service, dedupKey string }

type actorKey struct{ source, integration string }

// maxActors bounds the actor cache (integrations come from the config).
const maxActors = 256

// actor is actorOf(source, integration), shared between the triggers of
// one integration (two allocations per trigger on every node before).
func (s *State) actor(source, integration string) string {
	k := actorKey{source, integration}
	if a, ok := s.actors[k]; ok {
		return a
	}
	if s.actors == nil || len(s.actors) >= maxActors {
		s.actors = map[actorKey]string{}
	}
	a := actorOf(source, integration)
	s.actors[k] = a
	return a
}

// NewState returns an empty state.
func NewState() *State {
	return &State{open: map[openKey]*Incident{}, alertIndex: map[uint64]map[string]int{}, dropped: map[uint64]map[uint64]struct{}{},
		phoneCodes: map[string]map[uint64]int{}, smsOff: map[string]time.Time{}, dedup: map[string]uint64{},
		dedupRefused: map[string]string{}}
}

// ApplyAlertGroup applies one routed Alertmanager notification (spec §4 dedup):
// one open incident per service and group key; new fingerprints are added,
// known ones updated; a resolved group resolves the incident when AutoResolve.
// Alerts absent from the payload are never taken as resolved.
func (s *State) ApplyAlertGroup(now time.Time, g *AlertGroup) IngestResult {
	actor := s.actor(SourceAlertmanager, g.Integration)
	inc := s.own(s.open[openKey{g.Service, g.GroupKey}])
	if inc == nil {
		if g.Status != "firing" || !anyFiring(g.Alerts) {
			// A resolved group with no open incident: nothing to do. Not an error:
			// Alertmanager resends resolutions of incidents resolved by hand.
			return IngestResult{DedupKey: g.GroupKey}
		}
		inc = s.create(now, g.Service, g.GroupKey, SourceAlertmanager, g.Integration, g.Title, g.Policy)
		s.mergeAlerts(now, inc, g.Alerts, actor, g.RulesVersion)
		inc.Severity = highestSeverity(inc.Alerts, inc.Severity)
		planPaging(now, inc, g.Deferrals)
		s.startFirstStep(now, inc, g.FirstStep)
		return IngestResult{Incident: inc.ID, DedupKey: g.GroupKey, Created: true}
	}
	s.mergeAlerts(now, inc, g.Alerts, actor, g.RulesVersion)
	followAlertSeverity(now, inc, g.Deferrals, actor)
	if g.Status == "firing" && anyFiring(g.Alerts) && g.RulesVersion >= 1 {
		retitle(inc, g.Title)
	}
	if g.Status == "resolved" {
		s.sourceResolved(now, inc, g.AutoResolve, actor, g.RulesVersion, g.Postmortem)
	}
	return IngestResult{Incident: inc.ID, DedupKey: g.GroupKey}
}

// ApplyEvent applies one routed Events API v2 event (spec §4): trigger opens or
// updates the open incident of its dedup key; acknowledge and resolve act on the
// open one and never create one.
func (s *State) ApplyEvent(now time.Time, e *Event) IngestResult {
	actor := s.actor(SourceEvents, e.Integration)
	inc := s.own(s.open[openKey{e.Service, e.DedupKey}])
	res := IngestResult{DedupKey: e.DedupKey}
	switch e.Action {
	case ActionTrigger:
		alert := e.Alert
		alert.Fingerprint = e.DedupKey
		alert.Status = "firing"
		if inc == nil {
			inc = s.create(now, e.Service, e.DedupKey, SourceEvents, e.Integration, alert.Annotations["summary"], e.Policy)
			res.Created = true
		} else if e.RulesVersion >= 1 {
			retitle(inc, alert.Annotations["summary"])
		}
		s.mergeAlerts(now, inc, []Alert{alert}, actor, e.RulesVersion)
		if res.Created {
			inc.Severity = highestSeverity(inc.Alerts, inc.Severity)
			planPaging(now, inc, e.Deferrals)
			s.startFirstStep(now, inc, e.FirstStep)
		} else {
			followAlertSeverity(now, inc, e.Deferrals, actor)
		}
	case ActionAcknowledge:
		if inc == nil {
			return res
		}
		if inc.Status == Triggered {
			s.acknowledge(now, inc, actor, "acknowledged by "+SourceEvents+" event", e.LogVersion)
		}
	case ActionResolve:
		if inc == nil {
			return res
		}
		s.sourceResolved(now, inc, e.AutoResolve, actor, e.RulesVersion, e.Postmortem)
	default:
		return res
	}
	res.Incident = inc.ID
	return res
}

// ApplyAction applies a person's action. It returns a copy of the incident
// after the action, or ErrNotFound / ErrConflict / ErrInvalid (wrapped with a
// message for the person) and no change.
func (s *State) ApplyAction(now time.Time, a *Action) (*Incident, error) {
	inc := s.own(s.byID(a.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(a.Incident))
	}
	actor := a.By
	if actor == "" {
		actor = "unknown"
	}
	if a.DedupID != "" {
		if first, dup := s.dedup[a.DedupID]; dup {
			return s.replay(a.DedupID, first, inc)
		}
	}
	out, err := s.applyAction(now, inc, a, actor)
	if a.DedupID != "" && (err == nil || errors.Is(err, ErrConflict)) {
		s.rememberAction(a.DedupID, inc.ID, err)
	}
	return out, err
}

// replay answers a retried reply (issue 10.9) with what its first delivery
// came to, whatever it names now (a Twilio retry of "a" after a newer page
// arrived picks that newer page): the refusal it got, or the incident it
// acted on with ErrDuplicate. Nothing changes.
func (s *State) replay(dedupID string, firstIncident uint64, named *Incident) (*Incident, error) {
	if msg, refused := s.dedupRefused[dedupID]; refused {
		return nil, ReplayedRefusal(msg)
	}
	inc := named
	if first := s.byID(firstIncident); first != nil {
		inc = first
	}
	return inc.Clone(), fmt.Errorf("%w: %s already applied to %s", ErrDuplicate, dedupID, inc.Key)
}

// ErrReplayed marks a refusal answered again to a retried reply (with
// ErrConflict): callers that explain refusals (by email) need not explain
// it twice.
var ErrReplayed = errors.New("refusal of a retried reply")

// ReplayedRefusal is the error a retried reply gets when its first delivery
// was refused with message msg: msg word for word, and both ErrConflict and
// ErrReplayed.
func ReplayedRefusal(msg string) error { return replayedRefusal(msg) }

type replayedRefusal string

func (r replayedRefusal) Error() string   { return string(r) }
func (r replayedRefusal) Unwrap() []error { return []error{ErrConflict, ErrReplayed} }

// rememberAction remembers an applied reply id with its outcome. Refusals
// of ids that remember has since forgotten are pruned in bulk; a lookup
// only trusts a refusal whose id is still remembered.
func (s *State) rememberAction(id string, incidentID uint64, err error) {
	s.remember(id, incidentID)
	if err == nil {
		delete(s.dedupRefused, id)
		return
	}
	s.dedupRefused[id] = err.Error()
	if len(s.dedupRefused) > 2*maxDedup {
		for k := range s.dedupRefused {
			if _, live := s.dedup[k]; !live {
				delete(s.dedupRefused, k)
			}
		}
	}
}

func (s *State) applyAction(now time.Time, inc *Incident, a *Action, actor string) (*Incident, error) {
	switch a.Kind {
	case Ack:
		if inc.Status == Acknowledged && inc.silenceReminder(now, actor, a.Channel) {
			break // the ack was for the status update reminder
		}
		if inc.Status != Triggered {
			if inc.Status == Acknowledged && a.Channel != "" && a.Channel != "api" {
				// The first acknowledgement wins; a later reply is recorded.
				inc.addEntry(now, EntryReply, actor, fmt.Sprintf("ack via %s: already acknowledged by %s", a.Channel, inc.AcknowledgedBy))
			}
			return nil, conflict(inc, "acknowledge")
		}
		s.acknowledge(now, inc, actor, withNote("acknowledged via "+channelOf(a), a.Note), a.LogVersion)
		inc.silenceReminder(now, actor, a.Channel)
		takeAckRoles(now, inc, a.AckRoles, actor)
	case Resolve:
		if inc.Status == Resolved {
			return nil, conflict(inc, "resolve")
		}
		s.resolve(now, inc, actor, withNote("resolved via "+channelOf(a), a.Note), mailsSummary(a.LogVersion))
		inc.postFinalUpdate(now, FinalUpdateText(inc.Severity, a.Postmortem))
	case Escalate:
		if inc.Status == Resolved {
			return nil, conflict(inc, "escalate")
		}
		if inc.Escalation == nil {
			return nil, fmt.Errorf("%w: %s has no escalation policy to advance", ErrConflict, inc.Key)
		}
		s.escalate(now, inc, actor, withNote("escalation requested via "+channelOf(a), a.Note), a.LogVersion)
	case Note:
		if strings.TrimSpace(a.Note) == "" {
			return nil, fmt.Errorf("%w: note: required", ErrInvalid)
		}
		inc.addEntry(now, EntryNote, actor, a.Note)
	case Impact:
		if err := setImpact(now, inc, a, actor); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown action %q", ErrInvalid, a.Kind)
	}
	return inc.Clone(), nil
}

func conflict(inc *Incident, verb string) error {
	switch inc.Status {
	case Resolved:
		return fmt.Errorf("%w: cannot %s %s: already resolved by %s at %s", ErrConflict, verb, inc.Key,
			inc.ResolvedBy, inc.ResolvedAt.UTC().Format(time.RFC3339))
	case Acknowledged:
		return fmt.Errorf("%w: cannot %s %s: already acknowledged by %s at %s", ErrConflict, verb, inc.Key,
			inc.AcknowledgedBy, inc.AcknowledgedAt.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: cannot %s %s in status %s", ErrConflict, verb, inc.Key, inc.Status)
}

func (s *State) create(now time.Time, service, dedupKey, source, integration, title, policy string) *Incident {
	id := s.nextID()
	if title == "" {
		title = dedupKey
	}
	// Its detection time and step 0's due time share one allocation (apply
	// points such fields at new times and never writes through them).
	times := &[2]time.Time{now, now}
	inc := &Incident{
		ID: id, Key: KeyFor(id), Title: title, Service: service, Status: Triggered,
		DedupKey: dedupKey, Source: source, Integration: integration, CreatedAt: now,
		Alerts: []Alert{}, gen: s.gen, DetectedAt: &times[0],
	}
	inc.Timeline = make([]Entry, 0, timelineCap(policy))
	s.incidents = append(s.incidents, inc)
	s.open[openKey{service, dedupKey}] = inc
	inc.addEntry(now, EntryTriggered, s.actor(source, integration), "incident opened: "+title)
	if policy != "" {
		// Step 0 is due at once; the leader's escalation engine starts it.
		inc.Escalation = &Escalation{Policy: policy, NextAt: &times[1]}
	}
	return inc
}

// timelineCap is room for the timeline a new incident is about to have:
// opened and its first alert; with a policy also its first step, that
// step's page held by flood control and the page sent (a storm's incident,
// issue 18). Appending from nil grew it 1, 2, 4, 8: four allocations and
// 2.4 KB for five entries, on every node, against one of 768 B.
func timelineCap(policy string) int {
	if policy == "" {
		return 2
	}
	return 5
}

// retitle keeps an open incident's title current as its source's summary
// changes: Alertmanager's pagerduty_configs summary counts the group's
// alerts ("[FIRING:2] ..."), and a page showing the first one's count would
// understate the problem. An empty title changes nothing.
func retitle(inc *Incident, title string) {
	if title != "" && inc.Status.Open() {
		inc.Title = title
	}
}

// alertIndexMin is how many alerts an open incident holds before its
// fingerprints are indexed in a map (State.alertIndex). Below, a scan of
// its alerts finds one as fast, and a storm's incidents, one alert each,
// do not each make and keep a map on every node (issue 18).
const alertIndexMin = 16

// findAlert is the position of the alert with fingerprint fp in alerts:
// from idx when the incident has one, else the last such alert, as an
// index built from alerts would say (indexAlerts).
func findAlert(idx map[string]int, alerts []Alert, fp string) (int, bool) {
	if idx != nil {
		i, ok := idx[fp]
		return i, ok
	}
	for i := len(alerts) - 1; i >= 0; i-- {
		if alerts[i].Fingerprint == fp {
			return i, true
		}
	}
	return 0, false
}

// indexAlerts maps each fingerprint to its (last) position in alerts.
func indexAlerts(alerts []Alert) map[string]int {
	idx := make(map[string]int, len(alerts))
	for j, a := range alerts {
		idx[a.Fingerprint] = j
	}
	return idx
}

// mergeAlerts adds new fingerprints and updates known ones, recording each
// change in the timeline (at most maxAlertEntries per payload, the rest
// summed up). An identical repeat records nothing. Past MaxAlerts new
// fingerprints are only counted (dropAlert). A resolved alert the incident
// does not hold is skipped: Prometheus re-sends resolved alerts for 15
// minutes and Alertmanager puts them in the group's next notification, so
// such an alert belongs to an earlier incident of the group and must neither
// open nor join this one. Commands older than rules version 1 are replayed as
// they were first applied: such an alert is added.
func (s *State) mergeAlerts(now time.Time, inc *Incident, alerts []Alert, actor string, rules int) {
	idx := s.alertIndex[inc.ID]
	log := &alertLog{inc: inc, now: now, actor: actor, coalesce: rules >= rulesCoalesce}
	for _, a := range alerts {
		i, known := findAlert(idx, inc.Alerts, a.Fingerprint)
		if !known && a.Status == "resolved" && rules >= 1 {
			continue
		}
		if !known && len(inc.Alerts) >= MaxAlerts {
			s.dropAlert(inc, a, log)
			continue
		}
		noteDetected(inc, &a)
		if !known {
			if idx != nil {
				idx[a.Fingerprint] = len(inc.Alerts)
			}
			inc.Alerts = append(inc.Alerts, a)
			if idx == nil && len(inc.Alerts) >= alertIndexMin {
				idx = indexAlerts(inc.Alerts)
				s.alertIndex[inc.ID] = idx
			}
			log.add(entryForNew(a), describeAlert(a))
			continue
		}
		old := inc.Alerts[i]
		inc.Alerts[i] = a
		switch {
		case old.Status != a.Status && a.Status == "resolved":
			log.add(EntryAlertResolved, describeAlert(a))
		case old.Status != a.Status:
			log.add(EntryAlertAdded, "firing again: "+describeAlert(a))
		case !sameAlert(old, a):
			log.add(EntryAlertUpdated, describeAlert(a))
		}
	}
	log.flush()
	inc.AlertCount = len(inc.Alerts) + inc.AlertsDropped
}

func entryForNew(a Alert) string {
	if a.Status == "resolved" {
		return EntryAlertResolved // only for commands before rules version 1
	}
	return EntryAlertAdded
}

// sourceResolved handles a source saying the problem is gone.
func (s *State) sourceResolved(now time.Time, inc *Incident, autoResolve bool, actor string, rules int, postmortem []string) {
	if !inc.Status.Open() {
		return
	}
	if !autoResolve {
		msg := "source reports resolved; auto_resolve is off for service " + inc.Service
		if rules >= rulesCoalesce {
			inc.addOrCoalesce(now, EntryIgnored, actor, msg)
		} else {
			inc.addEntry(now, EntryIgnored, actor, msg)
		}
		return
	}
	s.resolve(now, inc, actor, "resolved by source", rules >= rulesSummary)
	inc.postFinalUpdate(now, FinalUpdateText(inc.Severity, postmortem))
}

func (s *State) acknowledge(now time.Time, inc *Incident, actor, msg string, logVersion uint8) {
	t := now
	inc.Status = Acknowledged
	inc.AcknowledgedAt = &t
	inc.AcknowledgedBy = actor
	stopEscalation(inc, false)
	if inc.Escalation != nil && logVersion != LogV1 {
		inc.Escalation.Seq++ // a plan made before this ack is stale
	}
	inc.addEntry(now, EntryAcknowledged, actor, msg)
}

// escalate makes the next step due now; an acknowledged incident returns to
// triggered, since someone decided the acknowledger cannot handle it.
func (s *State) escalate(now time.Time, inc *Incident, actor, msg string, logVersion uint8) {
	if inc.Status == Acknowledged {
		inc.Status = Triggered
		inc.AcknowledgedAt, inc.AcknowledgedBy = nil, ""
	}
	due := now
	esc := inc.Escalation
	esc.NextAt = &due
	inc.DeferredUntil = nil // a person asked for someone now
	esc.Exhausted = false
	if logVersion != LogV1 {
		esc.Escalated = true
		esc.Seq++ // a plan made before this escalate is stale
	}
	inc.addEntry(now, EntryEscalated, actor, msg)
}

// resolve closes the incident; mailSummary queues the summary mails (false
// only when replaying a log entry written before they existed).
func (s *State) resolve(now time.Time, inc *Incident, actor, msg string, mailSummary bool) {
	t := now
	inc.Status = Resolved
	inc.ResolvedAt = &t
	inc.ResolvedBy = actor
	delete(s.open, openKey{inc.Service, inc.DedupKey})
	// Only open incidents take alerts, so the fingerprint index can go.
	delete(s.alertIndex, inc.ID)
	delete(s.dropped, inc.ID)
	stopEscalation(inc, true)
	s.releaseCodes(inc)
	inc.addEntry(now, EntryResolved, actor, msg)
	if mailSummary {
		s.queueSummaryMail(inc)
	}
}

func (inc *Incident) addEntry(at time.Time, typ, actor, msg string) {
	inc.Timeline = append(inc.Timeline, Entry{At: at, Type: typ, Actor: actor, Message: msg})
}

func (s *State) byID(id uint64) *Incident {
	if id <= s.base || id >= s.nextID() {
		return nil
	}
	return s.incidents[id-s.base-1]
}

func anyFiring(alerts []Alert) bool {
	for _, a := range alerts {
		if a.Status == "firing" {
			return true
		}
	}
	return false
}

// highestSeverity is the most severe severity among firing alerts; with none
// firing the incident keeps the severity it had.
func highestSeverity(alerts []Alert, current string) string {
	best := ""
	for _, a := range alerts {
		if a.Status == "firing" && (best == "" || SeverityRank(a.Severity) < SeverityRank(best)) {
			best = a.Severity
		}
	}
	if best == "" {
		return current
	}
	return best
}

func sameAlert(a, b Alert) bool {
	return a.Status == b.Status && a.Severity == b.Severity && a.StartsAt.Equal(b.StartsAt) &&
		a.EndsAt.Equal(b.EndsAt) && sameMap(a.Labels, b.Labels) && sameMap(a.Annotations, b.Annotations) &&
		a.GeneratorURL == b.GeneratorURL && a.SilenceURL == b.SilenceURL
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// describeAlert names an alert for the timeline: alertname and its other labels
// in sorted order, so the text is the same on every replica.
func describeAlert(a Alert) string {
	var room [8]string // most alerts have fewer labels: no allocation for the keys
	keys := room[:0]
	name := a.Labels["alertname"]
	if name == "" {
		name = a.Fingerprint
	}
	size := len(name) + len(" {} ") + len(a.Status)
	for k, v := range a.Labels {
		if k != "alertname" {
			keys = append(keys, k)
			size += len(k) + len("=, ") + len(v)
		}
	}
	slices.Sort(keys)
	// One allocation of the final size (the concatenations per label and
	// the builder's growth were about five per alert on every node).
	var b strings.Builder
	b.Grow(size)
	b.WriteString(name)
	b.WriteString(" {")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(a.Labels[k])
	}
	b.WriteString("} ")
	b.WriteString(a.Status)
	return b.String()
}

func actorOf(source, integration string) string { return source + ":" + integration }

func channelOf(a *Action) string {
	if a.Channel == "" {
		return "api"
	}
	return a.Channel
}

func withNote(msg, note string) string {
	if note == "" {
		return msg
	}
	return msg + ": " + note
}

// own returns inc ready to be changed: inc itself, or, when a snapshot
// taken since shares it, a copy that replaces it in the state.
func (s *State) own(inc *Incident) *Incident {
	if inc == nil || inc.gen >= s.gen {
		return inc
	}
	c := inc.Clone()
	c.gen = s.gen
	s.incidents[c.ID-s.base-1] = c
	if k := (openKey{c.Service, c.DedupKey}); s.open[k] == inc {
		s.open[k] = c
	}
	return c
}
