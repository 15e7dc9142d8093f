package incident

import (
	"strconv"
	"time"
)

// Status is the lifecycle state of an incident.
type Status string

// Incident statuses (spec §2).
const (
	Triggered    Status = "triggered"
	Acknowledged Status = "acknowledged"
	Resolved     Status = "resolved"
)

// Open reports whether the incident still needs someone.
func (s Status) Open() bool { return s == Triggered || s == Acknowledged }

// Sources of incidents.
const (
	SourceAlertmanager = "alertmanager"
	SourceEvents       = "events" // PagerDuty Events API v2
)

// Incident is one deduplicated problem of one service. Its JSON form is the API's
// (spec §2).
type Incident struct {
	ID       uint64 `json:"id"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	// SeveritySetBy is who last set the severity by hand (empty: it follows
	// the alerts). A person's severity stands until changed again.
	SeveritySetBy  string      `json:"severity_set_by,omitempty"`
	Status         Status      `json:"status"`
	DedupKey       string      `json:"dedup_key"`
	Source         string      `json:"source"`
	Integration    string      `json:"integration"`
	CreatedAt      time.Time   `json:"created_at"`
	AcknowledgedAt *time.Time  `json:"acknowledged_at"`
	AcknowledgedBy string      `json:"acknowledged_by"`
	ResolvedAt     *time.Time  `json:"resolved_at"`
	ResolvedBy     string      `json:"resolved_by"`
	AlertCount     int         `json:"alert_count"`    // every distinct alert, kept or not
	AlertsDropped  int         `json:"alerts_dropped"` // of those, not kept (past MaxAlerts)
	Alerts         []Alert     `json:"alerts"`
	Escalation     *Escalation `json:"escalation"`
	// DeferredUntil is set while paging waits for the severity's business
	// hours window (spec §5.2): the escalation's step 0 is due then.
	DeferredUntil *time.Time `json:"deferred_until"`
	// Roles are the incident's role holders, role id → user id (spec
	// §5.2); one holder per role.
	Roles map[string]string `json:"roles"`
	// RolesPaged are the roles whose from target was paged (once per
	// incident); RolesBriefed is role → the holder sent its instructions.
	RolesPaged    []string          `json:"roles_paged,omitempty"`
	RolesBriefed  map[string]string `json:"roles_briefed,omitempty"`
	Notifications []Notification    `json:"notifications,omitempty"`
	Timeline      []Entry           `json:"timeline,omitempty"`

	// Status communication (spec §5.2, updates.go): the phase the last
	// update set, the updates in order, when the next one is due (null
	// until the first update: before it the leader counts from created_at)
	// and the overdue reminder of the current deadline, if any.
	Phase         string         `json:"phase,omitempty"`
	Updates       []Update       `json:"updates,omitempty"`
	NextUpdateAt  *time.Time     `json:"next_update_at"`
	UpdateOverdue *UpdateOverdue `json:"update_overdue,omitempty"`
	// DetectedAt is when monitoring saw the problem: the earliest startsAt
	// of its alerts, never later than CreatedAt (timestamps.go).
	DetectedAt *time.Time `json:"detected_at"`
	// ImpactStartedAt is when customer impact began, as a person said
	// (POST /v1/incidents/{id}/impact); never guessed, nil until then.
	ImpactStartedAt *time.Time `json:"impact_started_at"`
	// MitigatedAt is the first status update with phase monitoring (spec
	// §5.2); nil until status updates exist and one is posted.
	MitigatedAt *time.Time `json:"mitigated_at"`
	// Drill is set on an incident a continuity drill opened (spec §5.2):
	// status pages and reports leave such incidents out.
	Drill *DrillRef `json:"drill"`

	gen uint64 // snapshot generation of State.own; not serialised
}

// KeyFor is the human key of an incident id ("INC-42").
func KeyFor(id uint64) string { return "INC-" + strconv.FormatUint(id, 10) }

// Alert is one alert of an incident, tracked by fingerprint.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"` // firing | resolved
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at"`
	Severity    string            `json:"severity"` // mapped incident severity of this alert
	// GeneratorURL is Prometheus' link to the rule's expression graph
	// (Alertmanager's generatorURL); empty when the source gave none.
	GeneratorURL string `json:"generator_url,omitempty"`
	// SilenceURL opens Alertmanager's new-silence form for this alert's
	// labels (from Alertmanager's externalURL); empty when unknown.
	SilenceURL string `json:"silence_url,omitempty"`
}

// Escalation is where an incident stands in its policy. The escalation
// engine (package escalation) moves it with StepStart commands.
type Escalation struct {
	Policy string `json:"policy"`
	Step   int    `json:"step"`
	Loop   int    `json:"loop"`
	// NextAt is when the next step is due (for a fresh incident: step 0, due
	// at once); nil once acknowledged, resolved or exhausted.
	NextAt *time.Time `json:"next_at"`
	// Seq moves on every change a step plan depends on: a step start, an
	// acknowledgement, an escalate. A StepStart names the Seq it expects,
	// so a stale leader's plan, a repeated firing, or an ack timeout planned
	// against an earlier acknowledgement changes nothing.
	Seq int `json:"seq"`
	// StepStartedAt is when the current step started; nil until step 0 has.
	StepStartedAt *time.Time `json:"step_started_at,omitempty"`
	// Exhausted is set when the last step of the last repeat has run.
	Exhausted bool `json:"exhausted,omitempty"`
	// Escalated is set when a person asked for the next step since the
	// current one started; the next step starts with reason "escalate".
	Escalated bool `json:"escalated,omitempty"`
}

// Started reports whether step 0 has started.
func (e *Escalation) Started() bool { return e.StepStartedAt != nil }

// Notification is one message to one person (or webhook) on one channel.
type Notification struct {
	ID       string `json:"id"`
	User     string `json:"user"`
	Channel  string `json:"channel"` // sms | email | webhook
	To       string `json:"to"`
	Step     int    `json:"step"`
	Loop     int    `json:"loop"`
	Status   string `json:"status"` // queued | sent | failed | cancelled
	Attempts int    `json:"attempts"`
	// DueAt is when it should go out: its step's start plus the user's rule
	// `after`, or the next retry after a transient failure.
	DueAt      time.Time  `json:"due_at"`
	SentAt     *time.Time `json:"sent_at"`
	Error      string     `json:"error"`
	ReplyCode  int        `json:"reply_code,omitempty"`  // SMS reply code on that phone
	ProviderID string     `json:"provider_id,omitempty"` // Message-ID, Twilio sid, delivery id
	Summary    string     `json:"summary,omitempty"`     // flood-control summary it went out in
	// HeldAt is when flood control first held it back (nil: never held).
	HeldAt *time.Time `json:"held_at,omitempty"`
	// Kind is "" for a page about the incident, role_page or
	// role_instructions for Role (roles.go), update_overdue for a status
	// update reminder (reminder.go).
	// role_instructions for Role (roles.go), or KindSummary for the
	// resolution summary mailed on resolve (summary_mail.go).
	Kind string `json:"kind,omitempty"`
	Role string `json:"role,omitempty"`
}

// Notification statuses.
const (
	NotifyQueued    = "queued"
	NotifySent      = "sent"
	NotifyFailed    = "failed"
	NotifyCancelled = "cancelled"
)

// Notification channels.
const (
	ChannelSMS     = "sms"
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Entry is one line of an incident's timeline.
type Entry struct {
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Actor   string    `json:"actor"`
	Message string    `json:"message"`
	// From, To and Note structure a change (severity_changed: the old and
	// new severity and the person's note), so reports and summaries need
	// not parse Message.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Note string `json:"note,omitempty"`
	// Role is the role a role_assigned, role_released or role_paged entry
	// is about (From and To: the holders before and after).
	Role string `json:"role,omitempty"`
	// Count is how many times this same event happened (0 or absent: once);
	// repeats of a recent identical entry raise it instead of adding lines
	// (a flapping alert), and LastAt is when the last repeat happened.
	Count  int        `json:"count,omitempty"`
	LastAt *time.Time `json:"last_at,omitempty"`
}

// Timeline entry types.
const (
	EntryTriggered     = "triggered"
	EntryAlertAdded    = "alert_added"
	EntryAlertResolved = "alert_resolved"
	EntryAlertUpdated  = "alert_updated"
	EntryAcknowledged  = "acknowledged"
	EntryResolved      = "resolved"
	EntryEscalated     = "escalated"
	EntryNote          = "note"
	EntryIgnored       = "ignored" // a source event that changed nothing, and why
	EntryStep          = "step"    // an escalation step started, and whom it pages
	EntryNotified      = "notified"
	EntryNotifyFailed  = "notify_failed"
	EntryNotifyHeld    = "notify_held" // flood control holds a page for the next summary
	EntryRetriggered   = "retriggered" // ack timeout: back to triggered
	EntryExhausted     = "exhausted"   // the policy ran out of steps and repeats
	EntryReply         = "reply"       // a reply that changed nothing, and why
	// EntryDeferred: paging waits for the severity's business hours.
	EntryDeferred = "deferred"
	// EntrySeverityChanged: the severity changed (From, To, Note).
	EntrySeverityChanged = "severity_changed"
	// EntryUpdatePosted: a status update (updates.go); EntryUpdateOverdue:
	// its deadline passed and a reminder was paged; EntryMaintenance: the
	// incident opened inside a maintenance window.
	EntryUpdatePosted  = "update_posted"
	EntryUpdateOverdue = "update_overdue"
	EntryMaintenance   = "maintenance"
)

// RulesCurrent is the apply-rules version the router stamps into AlertGroup
// and Event commands. Applying a command must give the same state on every
// replica whenever it is applied, including when a node upgraded to a newer
// binary replays log entries written before the upgrade, so a change to how a
// payload is applied takes effect only for commands that carry the version
// that introduced it:
//
//	1: a resolved alert the incident does not hold is not added (issue 11.5);
//	   a firing payload's title or trigger's summary retitles the open incident.
//	2: a resolve queues the resolution summary mails (issue 13.6).
//	3: a source's timeline entry identical to a recent one raises that
//	   entry's count instead of adding a line (a flapping alert, issue 12.4).
const RulesCurrent = 3

// AlertGroup is one Alertmanager webhook notification after routing: the router
// has authenticated it, chosen the service and mapped severities. It is the
// payload of a replicated command, so it holds only plain data.
type AlertGroup struct {
	Integration string  `json:"integration"`
	Service     string  `json:"service"`
	GroupKey    string  `json:"group_key"`
	Status      string  `json:"status"` // firing | resolved
	Title       string  `json:"title"`
	AutoResolve bool    `json:"auto_resolve"`
	Policy      string  `json:"policy,omitempty"` // the service's escalation policy
	Truncated   int     `json:"truncated"`
	Alerts      []Alert `json:"alerts"`
	// RulesVersion selects how the command is applied (RulesCurrent); 0 for
	// commands written before versions existed.
	RulesVersion int `json:"rules_version,omitempty"`
	// Deferrals are the leader's paging plan (see Deferral).
	Deferrals []Deferral `json:"deferrals,omitempty"`
	// Postmortem is the leader's list of severities that require a
	// postmortem, for the final public update of a resolve (updates.go).
	Postmortem []string `json:"postmortem,omitempty"`
	// FirstStep is the leader's plan of escalation step 0, used when the
	// command opens an incident that pages now (see FirstStep).
	FirstStep *FirstStep `json:"first_step,omitempty"`
}

// Event actions of the PagerDuty Events API v2.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// Event is one PagerDuty Events API v2 event after routing. DedupKey is always
// set: the leader generates one for a trigger that had none.
type Event struct {
	Integration string `json:"integration"`
	Service     string `json:"service"`
	Action      string `json:"action"`
	DedupKey    string `json:"dedup_key"`
	AutoResolve bool   `json:"auto_resolve"`
	Policy      string `json:"policy,omitempty"` // the service's escalation policy
	// Alert carries the trigger's payload: summary and details as annotations,
	// source, component, group and class as labels. Empty for acknowledge/resolve.
	Alert Alert `json:"alert"`
	// RulesVersion selects how the command is applied (RulesCurrent).
	RulesVersion int `json:"rules_version,omitempty"`
	// Deferrals are the leader's paging plan (see Deferral).
	Deferrals []Deferral `json:"deferrals,omitempty"`
	// Postmortem is the leader's list of severities that require a
	// postmortem, for the final public update of a resolve (updates.go).
	Postmortem []string `json:"postmortem,omitempty"`
	// FirstStep is the leader's plan of escalation step 0, used when a
	// trigger opens an incident that pages now (see FirstStep).
	FirstStep *FirstStep `json:"first_step,omitempty"`
	// LogVersion is the version of the log entry it was decoded from; see
	// LogV1. Not part of the command's JSON.
	LogVersion uint8 `json:"-"`
}

// Actions a person takes on an incident.
const (
	Ack      = "ack"
	Resolve  = "resolve"
	Escalate = "escalate"
	Note     = "note"
)

// Action is a person acting on one incident (API, CLI, SMS or email reply).
type Action struct {
	Incident uint64 `json:"incident"`
	Kind     string `json:"kind"`    // ack | resolve | escalate | note
	By       string `json:"by"`      // user id or token name
	Channel  string `json:"channel"` // api | sms | email
	Note     string `json:"note"`
	// Postmortem, for a resolve, is the leader's list of severities that
	// require a postmortem (the final public update says one will follow).
	Postmortem []string `json:"postmortem,omitempty"`
	// StartedAt, for Impact, is when customer impact began.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// DedupID makes a retried reply act once (Twilio MessageSid, email
	// Message-ID and token). Empty: no deduplication.
	DedupID string `json:"dedup_id,omitempty"`
	// AckRoles, for an ack, is the leader's stamp of the roles each
	// severity lists that have no from target: the acknowledger takes the
	// empty ones of the incident's severity (roles.go).
	AckRoles map[string][]string `json:"ack_roles,omitempty"`
	// LogVersion is the version of the log entry it was decoded from; see
	// LogV1. Not part of the command's JSON.
	LogVersion uint8 `json:"-"`
}

// LogV1 is the log-entry version of event, action and step_start commands
// written before issue 11. They apply by the rules of their time: an
// acknowledgement or escalate leaves the escalation seq alone (and sets no
// Escalated), and an ack-timeout step has no deadline check, so a log from
// before the upgrade replays to exactly the state it produced then. Any
// other version (0 for a command built in this binary) uses today's rules.
const LogV1 = 1

// IngestResult is what applying an AlertGroup or Event did.
type IngestResult struct {
	Incident uint64 `json:"incident"` // 0 when the event matched no incident
	DedupKey string `json:"dedup_key"`
	Created  bool   `json:"created"`
}
