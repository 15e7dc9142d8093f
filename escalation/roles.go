package escalation

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// Roles (spec §5.4): when an incident's severity lists a role that is empty
// and has a from target, the leader pages that target like an escalation
// step ("INC-42 needs an Incident Manager"); whoever takes a role is sent
// its instructions. Both are planned here, committed as a RoleNotify (so
// the pages are recorded queued before they go out) and then delivered by
// the ordinary delivery loop, with retries and flood control.

// roleWork plans the next role notification an incident needs, or nil.
// Paging waits while the incident itself is deferred to business hours.
func roleWork(inc *incident.Incident, cfg *config.Config, set *schedule.Set, now time.Time) *incident.RoleNotify {
	if !inc.Status.Open() {
		return nil
	}
	for role, holder := range sortedRoles(inc.Roles) {
		r, ok := cfg.RoleOf(role)
		if ok && strings.TrimSpace(r.Instructions) != "" && inc.RolesBriefed[role] != holder {
			return planInstructions(inc, r, holder, cfg, now)
		}
	}
	if inc.DeferredUntil != nil {
		return nil
	}
	for _, role := range cfg.SeverityPolicyOf(inc.Severity).Roles {
		r, ok := cfg.RoleOf(role)
		if !ok || r.From == "" || inc.Roles[role] != "" || slices.Contains(inc.RolesPaged, role) {
			continue
		}
		return planRolePage(inc, r, cfg, set, now)
	}
	return nil
}

// sortedRoles iterates holders in role order, so plans are reproducible.
func sortedRoles(m map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

// planRolePage resolves the role's from target at now and pages each
// person found by their notification rules, as a step would.
func planRolePage(inc *incident.Incident, r config.Role, cfg *config.Config, set *schedule.Set, now time.Time) *incident.RoleNotify {
	rn := &incident.RoleNotify{Incident: inc.ID, Kind: incident.KindRolePage, Role: r.ID}
	users, note := roleTargetUsers(r.From, cfg, set, now)
	var pages []string
	for _, u := range users {
		if len(u.Notify) == 0 {
			note = joinNote(note, u.ID+" has no notification rules")
			continue
		}
		var how []string
		for _, rule := range u.Notify {
			n := userNotification(u, rule, cfg, now)
			n.ID = roleNotificationID(inc, len(rn.Notifications))
			rn.Notifications = append(rn.Notifications, n)
			how = append(how, rule.Via+" "+offset(rule.After.D()))
		}
		pages = append(pages, u.ID+" ("+strings.Join(how, ", ")+")")
	}
	rn.Message = fmt.Sprintf("%s needs %s: paging %s", inc.Severity, r.Name, r.From)
	if len(pages) > 0 {
		rn.Message += ": " + strings.Join(pages, "; ")
	}
	if note != "" {
		rn.Message += "; " + note
	}
	return rn
}

// planInstructions sends the role's instructions to its holder by their
// first notification rule's channel, at once.
func planInstructions(inc *incident.Incident, r config.Role, holder string, cfg *config.Config, now time.Time) *incident.RoleNotify {
	rn := &incident.RoleNotify{Incident: inc.ID, Kind: incident.KindRoleInstructions, Role: r.ID, User: holder,
		Message: fmt.Sprintf("%s instructions to %s", r.Name, holder)}
	u, ok := cfg.User(holder)
	if !ok || len(u.Notify) == 0 {
		return rn // recorded as briefed with nothing to send: nobody to reach
	}
	n := userNotification(u, config.NotifyRule{Via: u.Notify[0].Via}, cfg, now)
	n.ID = roleNotificationID(inc, 0)
	rn.Notifications = []incident.Notification{n}
	return rn
}

// roleTargetUsers resolves user:, schedule: and rotation: targets.
func roleTargetUsers(target string, cfg *config.Config, set *schedule.Set, now time.Time) ([]config.User, string) {
	kind, id, _ := strings.Cut(target, ":")
	var ids []string
	switch kind {
	case "user":
		ids = []string{id}
	case "schedule", "rotation":
		users, err := onCall(set, id, now)
		if err != nil {
			return nil, fmt.Sprintf("%s %s: %v", kind, id, err)
		}
		if len(users) == 0 {
			return nil, fmt.Sprintf("%s %s has nobody on call at %s", kind, id, now.UTC().Format(time.RFC3339))
		}
		ids = users
	default:
		return nil, "target " + target + " cannot hold a role"
	}
	var out []config.User
	var missing []string
	for _, uid := range ids {
		if u, ok := cfg.User(uid); ok {
			out = append(out, u)
		} else {
			missing = append(missing, "user "+uid+" is not in the active config")
		}
	}
	return out, strings.Join(missing, "; ")
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// roleNotificationID is "n<incident>-r<k>-<i>": k counts the incident's
// role notifications so far, so ids never repeat (a stale plan that reused
// one is refused by apply: the role was paged or briefed meanwhile).
func roleNotificationID(inc *incident.Incident, i int) string {
	k := 0
	for _, n := range inc.Notifications {
		if n.Kind != incident.KindIncident {
			k++
		}
	}
	return fmt.Sprintf("n%d-r%d-%d", inc.ID, k+1, i)
}

// startRoleNotify commits a planned role page or instructions; like a step,
// one commit per incident is in flight at a time.
func (t *term) startRoleNotify(rn *incident.RoleNotify) {
	t.mu.Lock()
	t.roleBusy[rn.Incident] = true
	t.mu.Unlock()
	t.async(func() {
		_, err := t.e.opts.Store.SubmitRoleNotify(t.ctx, rn)
		t.mu.Lock()
		delete(t.roleBusy, rn.Incident)
		if err == nil || errors.Is(err, incident.ErrStale) {
			t.dirty[rn.Incident] = true
		} else {
			t.timers.set(rn.Incident, t.e.opts.Clock.Now().Add(stepRetryDelay(1)))
		}
		t.mu.Unlock()
		if err != nil && !errors.Is(err, incident.ErrStale) {
			t.e.log.Warn("commit role notification; retrying", "incident", rn.Incident, "role", rn.Role, "err", err)
		}
		t.signal()
	})
}
