package config

import (
	"sort"
	"strconv"
	"time"
)

// checkBusinessHours validates the business_hours windows and compiles
// them: each time_intervals entry goes through Alertmanager's parser, and
// its complaints are reported at the value they are about.
func (v *validator) checkBusinessHours() {
	ws := v.cfg.BusinessHours
	v.windows = v.ids(len(ws), func(i int) string { return ws[i].ID }, func(i int) string { return idx("business_hours", i, "id") })
	for i := range ws {
		w := &ws[i]
		p := idx("business_hours", i, "")
		loc := v.zone(p+".timezone", w.Timezone)
		if loc == nil {
			loc = time.UTC
		}
		w.loc = loc
		w.Timezone = loc.String()
		if len(w.Times) == 0 {
			v.add(p+".times", "at least one entry is required (Alertmanager time_intervals syntax, e.g. {weekdays: [\"monday:friday\"], times: [{start_time: \"09:00\", end_time: \"17:30\"}]})")
		}
		w.compiled = w.compiled[:0]
		for j, ti := range w.Times {
			ep := idx(p+".times", j, "")
			w.compiled = append(w.compiled, compileTimeInterval(ti, loc, func(sub, msg string) {
				v.add(ep+"."+sub, "%s", msg)
			}))
		}
		w.holidays = map[civilDate]bool{}
		for j, s := range w.ExceptDates {
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				v.add(idx(p+".except_dates", j, ""), "invalid date %q (want YYYY-MM-DD)", s)
				continue
			}
			w.holidays[dateOf(d)] = true
		}
	}
}

// checkSeverities validates severities: known severity names, a page
// policy that is "always" or a business_hours window, known roles.
func (v *validator) checkSeverities() {
	keys := make([]string, 0, len(v.cfg.Severities))
	for k := range v.cfg.Severities {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := mapPath("severities", k)
		if !ValidSeverity(k) {
			v.add(p, "unknown severity %q (use sev1, sev2 or sev3)", k)
			continue
		}
		pol := v.cfg.Severities[k]
		if pol.Page != "" && pol.Page != PageAlways && !v.windows[pol.Page] {
			v.add(p+".page", "%q is neither \"always\" nor the id of a business_hours window%s", pol.Page, v.knownWindows())
		}
		for i, r := range pol.Roles {
			if !v.knownRole(r) {
				v.add(p+".roles["+strconv.Itoa(i)+"]", "unknown role %q (use incident_manager, tech_lead, comms_manager or a roles[] id)", r)
			}
		}
		switch pol.Postmortem {
		case "", PostmortemRequired, PostmortemOptional:
		default:
			v.add(p+".postmortem", "unknown value %q (use required or optional)", pol.Postmortem)
		}
		if pol.UpdateEvery < 0 {
			v.add(p+".update_every", "must not be negative (0 turns the update cadence off)")
		}
		if pol.FollowupsDue < 0 {
			v.add(p+".followups_due", "must not be negative")
		}
		if pol.PostmortemDue < 0 {
			v.add(p+".postmortem_due", "must not be negative")
		}
	}
}

func (v *validator) knownWindows() string {
	if len(v.windows) == 0 {
		return " (business_hours defines none)"
	}
	ids := make([]string, 0, len(v.windows))
	for id := range v.windows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := " (known: "
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s + ")"
}

func isBuiltinRole(r string) bool {
	for _, b := range BuiltinRoles {
		if b == r {
			return true
		}
	}
	return false
}
