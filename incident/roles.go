package incident

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Notification kinds: a page about the incident (""), a page asking
// someone to take a role, and a role's instructions to its new holder.
// Role notifications are not the incident's escalation: an acknowledgement
// leaves them queued (the role still needs someone), a resolve cancels them.
const (
	KindIncident         = ""
	KindRolePage         = "role_page"
	KindRoleInstructions = "role_instructions"
)

// Timeline entry types of roles (spec §5.2: role_assigned, role_released;
// role_paged is pagerd's: a role's from target was paged).
const (
	EntryRoleAssigned = "role_assigned"
	EntryRoleReleased = "role_released"
	EntryRolePaged    = "role_paged"
)

// RoleChange is a person taking, handing over or releasing a role (spec
// §5.3 PUT/DELETE /v1/incidents/{id}/roles/{role}). One command sets the
// role's single holder, so a handover never leaves two holders.
type RoleChange struct {
	Incident uint64 `json:"incident"`
	Role     string `json:"role"`
	// User is the new holder; empty releases the role.
	User    string `json:"user"`
	By      string `json:"by"`
	Channel string `json:"channel"` // api | sms | email
	Note    string `json:"note,omitempty"`
	// DedupID makes a retried reply act once, as Action.DedupID.
	DedupID string `json:"dedup_id,omitempty"`
}

// RoleNotify is the leader's plan to page a role's from target (Kind
// KindRolePage) or to send a new holder the role's instructions
// (KindRoleInstructions). Like a StepStart it carries resolved
// notifications; apply records them queued, before anything is sent, and
// refuses (ErrStale) a plan the state has moved past: the role filled or
// already paged, the holder changed or already briefed.
type RoleNotify struct {
	Incident      uint64         `json:"incident"`
	Kind          string         `json:"kind"`
	Role          string         `json:"role"`
	User          string         `json:"user,omitempty"` // instructions: the holder they are for
	Notifications []Notification `json:"notifications"`
	Message       string         `json:"message"`
}

// ApplyRoleChange sets or clears a role's holder. Errors, with no change:
// ErrNotFound, ErrInvalid (no role), ErrConflict (resolved). Known roles and
// users are checked by the leader against the config before submitting.
func (s *State) ApplyRoleChange(now time.Time, rc *RoleChange) (*Incident, error) {
	inc := s.own(s.byID(rc.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(rc.Incident))
	}
	if rc.DedupID != "" {
		if first, dup := s.dedup[rc.DedupID]; dup {
			return s.replay(rc.DedupID, first, inc)
		}
	}
	out, err := applyRole(now, inc, rc)
	if rc.DedupID != "" && (err == nil || errors.Is(err, ErrConflict)) {
		s.rememberAction(rc.DedupID, inc.ID, err)
	}
	return out, err
}

func applyRole(now time.Time, inc *Incident, rc *RoleChange) (*Incident, error) {
	if rc.Role == "" {
		return nil, fmt.Errorf("%w: role: required", ErrInvalid)
	}
	if inc.Status == Resolved {
		return nil, conflict(inc, "change the roles of")
	}
	actor := rc.By
	if actor == "" {
		actor = "unknown"
	}
	from := inc.Roles[rc.Role]
	if from == rc.User {
		return inc.Clone(), nil // already so: nothing to record
	}
	setRole(now, inc, rc.Role, rc.User, actor, "via "+orAPI(rc.Channel), rc.Note)
	return inc.Clone(), nil
}

// setRole records the role's new holder (or its release) and stops the
// role's pages still queued: the role is no longer empty, or its holder
// left it on purpose.
func setRole(now time.Time, inc *Incident, role, user, actor, how, note string) {
	from := inc.Roles[role]
	if inc.Roles == nil {
		inc.Roles = map[string]string{}
	}
	e := Entry{At: now, Actor: actor, From: from, To: user, Note: note, Role: role}
	if user == "" {
		delete(inc.Roles, role)
		e.Type, e.Message = EntryRoleReleased, fmt.Sprintf("%s %s released %s", role, from, how)
	} else {
		inc.Roles[role] = user
		e.Type = EntryRoleAssigned
		e.Message = fmt.Sprintf("%s: %s takes the role %s", role, user, how)
		if from != "" {
			e.Message = fmt.Sprintf("%s handed over from %s to %s %s", role, from, user, how)
		}
		cancelRolePages(inc, role)
	}
	if note != "" {
		e.Message += ": " + note
	}
	inc.Timeline = append(inc.Timeline, e)
}

func cancelRolePages(inc *Incident, role string) {
	for i := range inc.Notifications {
		n := &inc.Notifications[i]
		if n.Kind == KindRolePage && n.Role == role && n.Status == NotifyQueued {
			n.Status = NotifyCancelled
		}
	}
}

// takeAckRoles gives the acknowledger the roles of the incident's severity
// that have no from target and are empty (spec §5.4: "a role with no from
// goes to the first person who acknowledges"). ackRoles is the leader's
// stamp (severity → roles); replicas read no config.
func takeAckRoles(now time.Time, inc *Incident, ackRoles map[string][]string, actor string) {
	for _, role := range ackRoles[inc.Severity] {
		if inc.Roles[role] == "" && actor != "" && actor != "unknown" {
			setRole(now, inc, role, actor, "pagerd", "by acknowledging", "")
		}
	}
}

// ApplyRoleNotify records the leader's role page or instructions.
func (s *State) ApplyRoleNotify(now time.Time, rn *RoleNotify) (*Incident, error) {
	inc := s.own(s.byID(rn.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(rn.Incident))
	}
	if !inc.Status.Open() {
		return nil, fmt.Errorf("%w: %s is %s", ErrStale, inc.Key, inc.Status)
	}
	switch rn.Kind {
	case KindRolePage:
		if inc.Roles[rn.Role] != "" || slices.Contains(inc.RolesPaged, rn.Role) {
			return nil, fmt.Errorf("%w: %s role %s is filled or was paged", ErrStale, inc.Key, rn.Role)
		}
		inc.RolesPaged = append(inc.RolesPaged, rn.Role)
	case KindRoleInstructions:
		if rn.User == "" || inc.Roles[rn.Role] != rn.User || inc.RolesBriefed[rn.Role] == rn.User {
			return nil, fmt.Errorf("%w: %s role %s is not %q's, or they were briefed", ErrStale, inc.Key, rn.Role, rn.User)
		}
		if inc.RolesBriefed == nil {
			inc.RolesBriefed = map[string]string{}
		}
		inc.RolesBriefed[rn.Role] = rn.User
	default:
		return nil, fmt.Errorf("%w: kind: unknown role notification kind %q", ErrInvalid, rn.Kind)
	}
	for _, n := range rn.Notifications {
		n.Kind, n.Role = rn.Kind, rn.Role
		n.Step, n.Loop = 0, 0
		if n.Status != NotifyFailed {
			n.Status = NotifyQueued
		}
		n.SentAt, n.HeldAt = nil, nil
		if n.Channel == ChannelSMS && n.Status == NotifyQueued {
			n.ReplyCode = s.replyCode(n.To, inc.ID)
		}
		inc.Notifications = append(inc.Notifications, n)
	}
	if rn.Kind == KindRolePage {
		inc.Timeline = append(inc.Timeline, Entry{At: now, Type: EntryRolePaged, Actor: "pagerd", Role: rn.Role, Message: rn.Message})
	}
	for _, n := range rn.Notifications {
		if n.Status == NotifyFailed {
			inc.addEntry(now, EntryNotifyFailed, "pagerd", fmt.Sprintf("cannot page %s by %s: %s", n.User, n.Channel, n.Error))
		}
	}
	return inc.Clone(), nil
}

// cloneRoles copies the role maps of a clone.
func cloneRoles(c, inc *Incident) {
	c.Roles = maps.Clone(inc.Roles)
	c.RolesBriefed = maps.Clone(inc.RolesBriefed)
	c.RolesPaged = slices.Clone(inc.RolesPaged)
}
