package config

import (
	"sort"
	"strings"
	"time"
)

// Maintenance is a configured maintenance window (spec §5.1 maintenance):
// one-off, or repeating every week when Repeat is "weekly" (From and To are
// then its first occurrence, and later ones keep the same wall-clock times in
// Timezone).
type Maintenance struct {
	ID       string   `yaml:"id"`
	Services []string `yaml:"services"`
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	Timezone string   `yaml:"timezone"`
	Repeat   string   `yaml:"repeat"`
	// Allow are the severities that still page during the window.
	Allow      []string `yaml:"allow"`
	StatusPage string   `yaml:"status_page"`
	Reason     string   `yaml:"reason"`

	from, to time.Time
	loc      *time.Location
}

// RepeatWeekly makes a maintenance window recur every week.
const RepeatWeekly = "weekly"

// MaintenanceWindow is one occurrence of a maintenance window, from config
// or started ad hoc (POST /v1/maintenance); the API's JSON form.
type MaintenanceWindow struct {
	ID         string    `json:"id"`
	Services   []string  `json:"services"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Allow      []string  `json:"allow,omitempty"`
	StatusPage string    `json:"status_page,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	By         string    `json:"by,omitempty"`
	Repeat     string    `json:"repeat,omitempty"`
	// Source is "config" or "adhoc".
	Source string `json:"source"`
}

// Covers reports whether the window is on service at instant at.
func (w MaintenanceWindow) Covers(service string, at time.Time) bool {
	return !at.Before(w.From) && at.Before(w.To) && containsString(w.Services, service)
}

// Allows reports whether severity sev still pages during the window.
func (w MaintenanceWindow) Allows(sev string) bool { return containsString(w.Allow, sev) }

// MaintenanceOccurrences are the occurrences of the configured windows that
// are on at now or start before now+ahead, soonest first.
func (c *Config) MaintenanceOccurrences(now time.Time, ahead time.Duration) []MaintenanceWindow {
	var out []MaintenanceWindow
	end := now.Add(ahead)
	for _, m := range c.Maintenance {
		if m.from.IsZero() || !m.to.After(m.from) {
			continue
		}
		k0 := 0 // the first occurrence that may still be on: about now's week
		if m.Repeat == RepeatWeekly && now.After(m.to) {
			k0 = max(0, int(now.Sub(m.to)/(7*24*time.Hour))-1)
		}
		for k := k0; k < k0+1000; k++ { // bounded: about one occurrence per week ahead
			from, to := m.occurrence(k)
			if from.After(end) {
				break
			}
			if to.After(now) {
				out = append(out, MaintenanceWindow{ID: m.ID, Services: m.Services, From: from.UTC(), To: to.UTC(),
					Allow: m.Allow, StatusPage: m.StatusPage, Reason: m.Reason, Repeat: m.Repeat, Source: "config"})
			}
			if m.Repeat != RepeatWeekly {
				break
			}
		}
	}
	SortWindows(out)
	return out
}

// occurrence k of a weekly window: k weeks after the first, at the same
// wall-clock times in its zone.
func (m Maintenance) occurrence(k int) (time.Time, time.Time) {
	if k == 0 {
		return m.from, m.to
	}
	return m.from.In(m.loc).AddDate(0, 0, 7*k), m.to.In(m.loc).AddDate(0, 0, 7*k)
}

// SortWindows orders windows by start, then id.
func SortWindows(ws []MaintenanceWindow) {
	sort.SliceStable(ws, func(i, j int) bool {
		if !ws[i].From.Equal(ws[j].From) {
			return ws[i].From.Before(ws[j].From)
		}
		return ws[i].ID < ws[j].ID
	})
}

// MaintenanceDeferral says whether paging an incident of service with
// severity sev at now waits for maintenance: the end of the windows on it
// then (windows that meet or overlap are followed to the last end), unless a
// window allows sev. Only the leader calls this, and stamps the answer.
func MaintenanceDeferral(ws []MaintenanceWindow, service, sev string, now time.Time) (until time.Time, id string, deferred bool) {
	at := now
	for guard := 0; guard <= len(ws); guard++ {
		moved := false
		for _, w := range ws {
			if w.Covers(service, at) && !w.Allows(sev) && w.To.After(at) {
				at, id, moved = w.To, w.ID, true
			}
		}
		if !moved {
			break
		}
	}
	return at, id, at.After(now)
}

// checkMaintenance validates maintenance windows: ids, known services,
// from and to instants with to after from, a known repeat, severities in
// allow and a known status page.
func (v *validator) checkMaintenance() {
	ms := v.cfg.Maintenance
	v.ids(len(ms), func(i int) string { return ms[i].ID }, func(i int) string { return idx("maintenance", i, "id") })
	for i := range ms {
		m := &ms[i]
		p := idx("maintenance", i, "")
		if len(m.Services) == 0 {
			v.add(p+".services", "at least one service is required")
		}
		for j, s := range m.Services {
			if !v.services[s] {
				v.add(idx(p+".services", j, ""), "unknown service %q", s)
			}
		}
		m.loc = v.zone(p+".timezone", m.Timezone)
		from, okFrom := v.instant(p+".from", m.From, m.loc)
		to, okTo := v.instant(p+".to", m.To, m.loc)
		if okFrom && okTo {
			switch {
			case !to.After(from):
				v.add(p+".to", "%q is not after from (%q)", m.To, m.From)
			case m.Repeat == RepeatWeekly && to.Sub(from) > 7*24*time.Hour:
				v.add(p+".to", "a weekly window lasts at most 7 days")
			default:
				m.from, m.to = from.UTC(), to.UTC()
			}
		}
		if m.Repeat != "" && m.Repeat != RepeatWeekly {
			v.add(p+".repeat", "unknown value %q (use weekly, or leave it out for a one-off window)", m.Repeat)
		}
		for j, s := range m.Allow {
			if !ValidSeverity(s) {
				v.add(idx(p+".allow", j, ""), "unknown severity %q (use %s)", s, strings.Join(Severities, ", "))
			}
		}
		if m.StatusPage != "" && !v.statusPages[m.StatusPage] {
			v.add(p+".status_page", "unknown status page %q", m.StatusPage)
		}
	}
}
