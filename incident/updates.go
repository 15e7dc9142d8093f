package incident

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Update audiences (spec §5.2): internal updates are for responders and
// never reach a public status page; public ones may.
const (
	AudienceInternal = "internal"
	AudiencePublic   = "public"
)

// Update phases, in the order an incident usually goes through them.
const (
	PhaseInvestigating = "investigating"
	PhaseIdentified    = "identified"
	PhaseMonitoring    = "monitoring"
	PhaseResolved      = "resolved"
)

// Phases are the update phases in order.
var Phases = []string{PhaseInvestigating, PhaseIdentified, PhaseMonitoring, PhaseResolved}

// Component statuses, least severe first; ComponentStatusRank orders them.
// under_maintenance is set by maintenance windows, never by an update.
const (
	ComponentOperational         = "operational"
	ComponentDegradedPerformance = "degraded_performance"
	ComponentPartialOutage       = "partial_outage"
	ComponentMajorOutage         = "major_outage"
	ComponentUnderMaintenance    = "under_maintenance"
)

// ComponentStatuses are the statuses an update may give a component.
var ComponentStatuses = []string{ComponentOperational, ComponentDegradedPerformance, ComponentPartialOutage, ComponentMajorOutage}

// ComponentStatusRank orders component statuses for "the worst of": higher
// is worse; under_maintenance ranks between operational and degraded (an
// outage during maintenance still shows as the outage); unknown ranks -1.
func ComponentStatusRank(s string) int {
	switch s {
	case ComponentOperational:
		return 0
	case ComponentUnderMaintenance:
		return 1
	case ComponentDegradedPerformance:
		return 2
	case ComponentPartialOutage:
		return 3
	case ComponentMajorOutage:
		return 4
	}
	return -1
}

// ValidPhase reports whether p is one of Phases.
func ValidPhase(p string) bool { return oneOf(p, Phases) }

// ValidComponentStatus reports whether s is one an update may set.
func ValidComponentStatus(s string) bool { return oneOf(s, ComponentStatuses) }

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Update is one status update of an incident (spec §5.2 `updates`).
type Update struct {
	ID       string    `json:"id"` // INC-42-U1
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Audience string    `json:"audience"`
	Phase    string    `json:"phase"`
	Message  string    `json:"message"`
	// Template is the update_templates id the message was rendered from.
	Template string `json:"template,omitempty"`
	// Components maps status_pages component ids to the status this update
	// gives them (ComponentStatuses).
	Components map[string]string `json:"components,omitempty"`
	Channel    string            `json:"channel,omitempty"` // api | sms | email
	// Auto marks the final resolved update pagerd posts on resolve.
	Auto bool `json:"auto,omitempty"`
}

// Public reports whether the update may appear on a public status page.
func (u *Update) Public() bool { return u.Audience == AudiencePublic }

// UpdateOverdue is the cadence reminder state of the current deadline:
// which deadline passed, how many reminders were paged for it, and whether
// one was acknowledged (silencing it until the next deadline). A posted
// update clears it.
type UpdateOverdue struct {
	Due       time.Time  `json:"due"`
	Reminders int        `json:"reminders"`
	LastAt    time.Time  `json:"last_at"`
	AckedAt   *time.Time `json:"acked_at,omitempty"`
	AckedBy   string     `json:"acked_by,omitempty"`
}

// UpdatePost is a person (or API token) posting a status update. The
// leader has rendered any template into Message, checked the components
// against the config, and stamped the next deadline.
type UpdatePost struct {
	Incident   uint64            `json:"incident"`
	Audience   string            `json:"audience"`
	Phase      string            `json:"phase"`
	Message    string            `json:"message"`
	Template   string            `json:"template,omitempty"`
	Components map[string]string `json:"components,omitempty"`
	By         string            `json:"by"`
	Channel    string            `json:"channel"`
	// ByToken: posted with an API token, which may post public updates
	// without holding a role.
	ByToken bool `json:"by_token,omitempty"`
	// NextUpdateAt is the leader's deadline for the next update: the commit
	// instant plus next_update_in or the severity's update_every (nil: no
	// cadence).
	NextUpdateAt *time.Time `json:"next_update_at,omitempty"`
	// DedupID makes a retried reply act once, as Action.DedupID.
	DedupID string `json:"dedup_id,omitempty"`
}

// PublicPosterRoles may post public updates (besides API tokens).
var PublicPosterRoles = []string{"incident_manager", "comms_manager"}

// ErrNotPermitted marks a refusal because of who asked (with ErrConflict,
// so the API answers 409 like other refusals that change nothing).
var ErrNotPermitted = errors.New("not permitted")

// ApplyUpdatePost records a status update. Errors, with no change:
// ErrNotFound, ErrInvalid (audience, phase, message or component status),
// ErrConflict (resolved incident; a public update by someone holding
// neither the incident manager nor the comms manager role).
func (s *State) ApplyUpdatePost(now time.Time, up *UpdatePost) (*Incident, error) {
	inc := s.own(s.byID(up.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(up.Incident))
	}
	if up.DedupID != "" {
		if first, dup := s.dedup[up.DedupID]; dup {
			return s.replay(up.DedupID, first, inc)
		}
	}
	out, err := s.postUpdate(now, inc, up)
	if up.DedupID != "" && (err == nil || errors.Is(err, ErrConflict)) {
		s.rememberAction(up.DedupID, inc.ID, err)
	}
	return out, err
}

func (s *State) postUpdate(now time.Time, inc *Incident, up *UpdatePost) (*Incident, error) {
	if err := checkUpdate(up); err != nil {
		return nil, err
	}
	if inc.Status == Resolved {
		return nil, conflict(inc, "post an update to")
	}
	by := up.By
	if by == "" {
		by = "unknown"
	}
	if up.Audience == AudiencePublic && !up.ByToken && !holdsAnyRole(inc, by, PublicPosterRoles) {
		return nil, fmt.Errorf("%w: %w: public updates of %s may be posted only by the incident manager or the comms manager (or with an API token); %s holds neither role",
			ErrConflict, ErrNotPermitted, inc.Key, by)
	}
	u := Update{At: now, By: by, Audience: up.Audience, Phase: up.Phase, Message: up.Message,
		Template: up.Template, Components: maps.Clone(up.Components), Channel: orAPI(up.Channel)}
	inc.appendUpdate(now, u)
	inc.NextUpdateAt = cloneTime(up.NextUpdateAt)
	inc.UpdateOverdue = nil // the reminder, if any, is answered
	return inc.Clone(), nil
}

func checkUpdate(up *UpdatePost) error {
	switch {
	case up.Audience != AudienceInternal && up.Audience != AudiencePublic:
		return fmt.Errorf("%w: audience: %q is neither internal nor public", ErrInvalid, up.Audience)
	case !ValidPhase(up.Phase):
		return fmt.Errorf("%w: phase: unknown phase %q (use %s)", ErrInvalid, up.Phase, strings.Join(Phases, ", "))
	case strings.TrimSpace(up.Message) == "":
		return fmt.Errorf("%w: message: required (or a template)", ErrInvalid)
	}
	for c, st := range up.Components {
		if !ValidComponentStatus(st) {
			return fmt.Errorf("%w: components.%s: unknown status %q (use %s)", ErrInvalid, c, st, strings.Join(ComponentStatuses, ", "))
		}
	}
	return nil
}

// appendUpdate adds u with the next id, moves the phase and writes the
// timeline entry.
func (inc *Incident) appendUpdate(now time.Time, u Update) {
	u.ID = fmt.Sprintf("%s-U%d", inc.Key, len(inc.Updates)+1)
	inc.Updates = append(inc.Updates, u)
	inc.Phase = u.Phase
	inc.markMitigated(now, u)
	msg := fmt.Sprintf("%s update (%s) via %s: %s", u.Audience, u.Phase, orAPI(u.Channel), u.Message)
	inc.Timeline = append(inc.Timeline, Entry{At: now, Type: EntryUpdatePosted, Actor: u.By, Message: msg, To: u.Phase, Note: u.Audience})
}

// HadPublicUpdate reports whether any public update was posted.
func (inc *Incident) HadPublicUpdate() bool {
	for i := range inc.Updates {
		if inc.Updates[i].Public() {
			return true
		}
	}
	return false
}

// LastPublicUpdate is the newest public update, or nil.
func (inc *Incident) LastPublicUpdate() *Update {
	for i := len(inc.Updates) - 1; i >= 0; i-- {
		if inc.Updates[i].Public() {
			return &inc.Updates[i]
		}
	}
	return nil
}

// postFinalUpdate is the resolve's last word (spec §5.4): an incident that
// had public updates gets a public `resolved` update with the leader's text,
// unless a person's last public update already said resolved.
func (inc *Incident) postFinalUpdate(now time.Time, text string) {
	last := inc.LastPublicUpdate()
	if last == nil || last.Phase == PhaseResolved || text == "" {
		return
	}
	inc.appendUpdate(now, Update{At: now, By: "pagerd", Audience: AudiencePublic, Phase: PhaseResolved,
		Message: text, Components: resolvedComponents(inc), Auto: true})
}

// resolvedComponents gives every component a public update named back its
// operational status, so a status page built from the last word is right.
func resolvedComponents(inc *Incident) map[string]string {
	out := map[string]string{}
	for _, u := range inc.Updates {
		if u.Public() {
			for c := range u.Components {
				out[c] = ComponentOperational
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func cloneUpdates(c *Incident) {
	c.NextUpdateAt = cloneTime(c.NextUpdateAt)
	if c.Updates != nil {
		c.Updates = append([]Update(nil), c.Updates...)
		for i := range c.Updates {
			c.Updates[i].Components = maps.Clone(c.Updates[i].Components)
		}
	}
	if c.UpdateOverdue != nil {
		o := *c.UpdateOverdue
		o.AckedAt = cloneTime(o.AckedAt)
		c.UpdateOverdue = &o
	}
}

// FinalUpdateText is the message of the final public update of a resolve
// (spec §5.4): it promises a postmortem when sev is one of postmortem, the
// leader's list of severities that require one.
func FinalUpdateText(sev string, postmortem []string) string {
	if oneOf(sev, postmortem) {
		return "Service restored; a postmortem will follow."
	}
	return "Service restored."
}
