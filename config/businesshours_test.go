package config

import (
	"strings"
	"testing"
	"time"
)

const officeYAML = `timezone: Europe/Amsterdam
business_hours:
  - id: office
    times:
      - {weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:30"}]}
    except_dates: ["2026-12-25", "2026-12-26"]
`

var ams = mustZone("Europe/Amsterdam")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func office(t *testing.T) *Config {
	t.Helper()
	cfg, err := parseOne(t, officeYAML, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The acceptance cases of issue 13.1, as wall-clock readings in Amsterdam.
func TestBusinessHoursNextOpen(t *testing.T) {
	cfg := office(t)
	w, ok := cfg.BusinessHoursWindow("office")
	if !ok || w.Timezone != "Europe/Amsterdam" {
		t.Fatalf("window %+v", w)
	}
	for _, c := range []struct{ name, at, want string }{
		{"friday evening waits for monday", "2026-11-27 18:00", "2026-11-30 09:00"},
		{"monday before nine", "2026-11-30 08:59", "2026-11-30 09:00"},
		{"inside the window is now", "2026-11-30 09:00", "2026-11-30 09:00"},
		{"end is exclusive", "2026-11-30 17:30", "2026-12-01 09:00"},
		{"christmas holidays and the weekend are skipped", "2026-12-24 17:45", "2026-12-28 09:00"},
		{"on a holiday during office hours", "2026-12-25 10:00", "2026-12-28 09:00"},
		{"across the october DST change", "2026-10-23 18:00", "2026-10-26 09:00"},
		{"across the march DST change", "2026-03-27 18:00", "2026-03-30 09:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, _ := ParseTime(c.at, ams)
			want, _ := ParseTime(c.want, ams)
			got, ok := w.NextOpen(at)
			if !ok || !got.Equal(want) {
				t.Fatalf("NextOpen(%s) = %s, %v; want %s", c.at, got.In(ams), ok, want.In(ams))
			}
			if got.In(ams).Hour() != want.In(ams).Hour() {
				t.Fatalf("wall clock %s", got.In(ams))
			}
		})
	}
	// Friday 18:00 to Monday 09:00 is 63 hours of wall clock; the October
	// change gives that Sunday 25 hours, so 64 real hours: 09:00 CET is
	// 08:00 UTC, where a fixed offset would have said 07:00.
	at, _ := ParseTime("2026-10-23 18:00", ams)
	got, _ := w.NextOpen(at)
	if got.Sub(at) != 64*time.Hour || got.UTC().Hour() != 8 {
		t.Fatalf("DST: opened %s after, at %s UTC", got.Sub(at), got.UTC())
	}
}

// A clock set back re-enters earlier minutes: a window 02:00-02:30 opens
// again at the transition, not the next day.
func TestBusinessHoursOpensAtFallBack(t *testing.T) {
	cfg, err := parseOne(t, `timezone: Europe/Amsterdam
business_hours:
  - id: night
    times: [{times: [{start_time: "02:00", end_time: "02:30"}]}]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := cfg.BusinessHoursWindow("night")
	at := time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC) // 02:45 CEST, before the clocks go back
	got, ok := w.NextOpen(at)
	want := time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC) // 02:00 CET
	if !ok || !got.Equal(want) {
		t.Fatalf("NextOpen = %s, want %s", got.UTC(), want)
	}
}

func TestPagingDeferral(t *testing.T) {
	cfg := office(t)
	fri, _ := ParseTime("2026-11-27 18:00", ams)
	if _, _, d := cfg.PagingDeferral("sev1", fri); d {
		t.Fatal("sev1 deferred")
	}
	until, win, d := cfg.PagingDeferral("sev3", fri)
	mon, _ := ParseTime("2026-11-30 09:00", ams)
	if !d || win != "office" || !until.Equal(mon) {
		t.Fatalf("sev3: %s %q %v", until, win, d)
	}
	tue, _ := ParseTime("2026-12-01 10:00", ams)
	if _, _, d := cfg.PagingDeferral("sev3", tue); d {
		t.Fatal("sev3 deferred inside the window")
	}
	// Without an office window, the default sev3 pages always.
	plain, err := parseOne(t, "timezone: UTC\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := plain.SeverityPolicyOf("sev3"); p.Page != PageAlways || p.Postmortem != PostmortemOptional {
		t.Fatalf("default sev3 without office: %+v", p)
	}
	if p := cfg.SeverityPolicyOf("sev1"); p.Page != PageAlways || strings.Join(p.Roles, ",") != "incident_manager,comms_manager" || p.UpdateEvery.D() != 30*time.Minute {
		t.Fatalf("default sev1: %+v", p)
	}
}

func TestSeveritiesExplicit(t *testing.T) {
	cfg, err := parseOne(t, officeYAML+`  - id: late
    timezone: UTC
    times: [{times: [{start_time: "20:00", end_time: "24:00"}]}]
severities:
  sev2: {page: late, roles: []}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.SeverityPolicyOf("sev2")
	if p.Page != "late" || p.Roles == nil || len(p.Roles) != 0 || p.Postmortem != PostmortemRequired {
		t.Fatalf("sev2: %+v", p)
	}
	if cfg.SeverityPolicyOf("sev3").Page != "office" {
		t.Fatal("sev3 default lost")
	}
}

func TestBadPracticeConfigs(t *testing.T) {
	for _, c := range []badCase{
		{"unknown window in severities", officeYAML + "severities:\n  sev3: {page: ofice}\n", nil, []string{
			`t.yaml:8:16: severities.sev3.page: "ofice" is neither "always" nor the id of a business_hours window (known: office)`,
		}},
		{"unknown severity key", officeYAML + "severities:\n  sev4: {page: always}\n", nil, []string{
			`t.yaml:8:9: severities.sev4: unknown severity "sev4" (use sev1, sev2 or sev3)`,
		}},
		{"malformed weekday", "business_hours:\n  - id: o\n    times:\n      - {weekdays: [\"monday:fryday\"]}\n", nil, []string{
			`t.yaml:4:21: business_hours[0].times[0].weekdays[0]: fryday is not a valid weekday`,
		}},
		{"malformed time range", "business_hours:\n  - id: o\n    times:\n      - times: [{start_time: \"17:30\", end_time: \"09:00\"}]\n", nil, []string{
			`t.yaml:4:17: business_hours[0].times[0].times[0]: start time cannot be equal or greater than end time`,
		}},
		{"unknown key in entry", "business_hours:\n  - id: o\n    times:\n      - {weekday: [monday]}\n", nil, []string{
			`t.yaml:4:10: business_hours[0].times[0]: unknown key "weekday" (allowed: times, weekdays, days_of_month, months, years)`,
		}},
		{"bad holiday", "business_hours:\n  - id: o\n    times: [{}]\n    except_dates: [\"25-12-2026\"]\n", nil, []string{
			`t.yaml:4:20: business_hours[0].except_dates[0]: invalid date "25-12-2026" (want YYYY-MM-DD)`,
		}},
		{"no times", "business_hours:\n  - {id: o}\n", nil, []string{
			`t.yaml:2:5: business_hours[0].times: at least one entry is required (Alertmanager time_intervals syntax, e.g. {weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:30"}]})`,
		}},
		{"unknown role", "severities:\n  sev1: {roles: [scribe]}\n", nil, []string{
			`t.yaml:2:18: severities.sev1.roles[0]: unknown role "scribe" (use incident_manager, tech_lead, comms_manager or a roles[] id)`,
		}},
		{"role from unknown rotation", "roles:\n  - {id: incident_manager, from: \"rotation:nope\"}\n", nil, []string{
			`t.yaml:2:34: roles[0].from: unknown rotation "nope"`,
		}},
		{"role from webhook", "roles:\n  - {id: scribe, from: \"webhook:x\"}\n", nil, []string{
			`t.yaml:2:24: roles[0].from: a role is held by a person: use user:, schedule: or rotation:, not "webhook:x"`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOne(t, c.yaml, c.env)
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// BenchmarkPagingPlan is what the leader adds to every ingest command:
// Friday evening, sev3 waits until Monday.
func BenchmarkPagingPlan(b *testing.B) {
	cfg, err := Parse([]Source{{Name: "t.yaml", Data: []byte(officeYAML)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	at, _ := ParseTime("2026-11-27 18:00", ams)
	for b.Loop() {
		if len(cfg.PagingPlan(at)) != 1 {
			b.Fatal("no deferral")
		}
	}
}

// A config role can be listed by a severity; AckRoles lists the roles
// without a from target per severity.
func TestConfigRoles(t *testing.T) {
	cfg, err := parseOne(t, "roles:\n  - {id: scribe, name: Scribe}\n  - {id: incident_manager, from: \"user:alice\", instructions: Own it}\nusers:\n  - {id: alice, email: a@example.com, notify: [{via: email}]}\nseverities:\n  sev1: {roles: [incident_manager, scribe]}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := cfg.RoleOf("incident_manager"); !ok || r.Name != "Incident Manager" || r.From != "user:alice" || r.Instructions != "Own it" {
		t.Errorf("RoleOf(incident_manager) = %+v, %v", r, ok)
	}
	if _, ok := cfg.RoleOf("nope"); ok {
		t.Error("unknown role found")
	}
	if got := strings.Join(cfg.RoleIDs(), ","); got != "incident_manager,tech_lead,comms_manager,scribe" {
		t.Errorf("RoleIDs = %s", got)
	}
	ack := cfg.AckRoles()
	if strings.Join(ack["sev1"], ",") != "scribe" || strings.Join(ack["sev2"], ",") != "" {
		t.Errorf("AckRoles = %v (sev2's default incident_manager has a from here)", ack)
	}
}

// update_every: 0 turns a severity's update cadence off (it used to be
// taken as "not set" and replaced by the default); an omitted update_every
// keeps the default, and a negative one is refused at its position.
func TestUpdateEveryZeroTurnsCadenceOff(t *testing.T) {
	cfg, err := parseOne(t, "severities:\n  sev3: {update_every: 0}\n  sev2: {roles: []}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.SeverityPolicyOf("sev3").UpdateEvery.D(); d != 0 {
		t.Fatalf("sev3 update_every: 0 became %v", d)
	}
	if d := cfg.SeverityPolicyOf("sev2").UpdateEvery.D(); d != time.Hour {
		t.Fatalf("sev2 without update_every: %v, want the default 1h", d)
	}
	if d := cfg.SeverityPolicyOf("sev1").UpdateEvery.D(); d != 30*time.Minute {
		t.Fatalf("sev1 not written: %v, want the default 30m", d)
	}
	_, err = parseOne(t, "severities:\n  sev3: {update_every: -1m}\n", nil)
	if err == nil || !strings.Contains(err.Error(), "t.yaml:2:24: severities.sev3.update_every: must not be negative (0 turns the update cadence off)") {
		t.Fatalf("negative update_every: %v", err)
	}
}

// NextOpen's work grows with the window's entries, not with their square:
// each range start is checked against its own entry only. A window of a
// thousand entries (aliases make that a 4 KiB config) that never opens took
// tens of seconds (every candidate against every entry, two years of
// days), which FuzzParse's 5 s bound per input refuses and which the
// leader would spend on each deferred page.
func TestNextOpenWorkGrowsWithEntriesNotTheirSquare(t *testing.T) {
	y := "business_hours:\n  - id: o\n    times: [&i {years: [\"2020\"], times: [{start_time: \"09:00\", end_time: \"10:00\"}]}" +
		strings.Repeat(", *i", 1000) + "]\n"
	cfg, err := parseOne(t, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := cfg.BusinessHoursWindow("o")
	_, ok, checks := w.nextOpen(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC))
	if ok {
		t.Fatal("a window of 2020 opened in 2026")
	}
	// Per day: midnight and at most one zone transition check every entry,
	// and each entry's start (at most twice, in a repeated hour) its own.
	// The old walk made entries² checks a day, 733 million here.
	n := len(w.compiled)
	if limit := searchDays * 4 * n; checks > limit {
		t.Fatalf("NextOpen made %d entry checks for %d entries, want at most %d", checks, n, limit)
	}
}

// NextOpen is the first minute (or t itself) inside the window, as a scan
// minute by minute finds it, for windows of several entries whose ranges,
// weekdays and holidays overlap, around both DST changes.
func TestNextOpenAgreesWithAScan(t *testing.T) {
	cfg, err := parseOne(t, `timezone: Europe/Amsterdam
business_hours:
  - id: a
    times:
      - {weekdays: ["monday:wednesday"], times: [{start_time: "09:00", end_time: "12:00"}, {start_time: "13:00", end_time: "17:00"}]}
      - {weekdays: ["tuesday:friday"], times: [{start_time: "10:30", end_time: "14:00"}]}
      - {weekdays: ["sunday"], times: [{start_time: "00:00", end_time: "01:00"}, {start_time: "02:15", end_time: "02:45"}]}
      - {days_of_month: ["1", "-1"]}
    except_dates: ["2026-10-28", "2026-03-31"]
  - id: b
    times:
      - {times: [{start_time: "02:00", end_time: "02:30"}]}
      - {weekdays: ["saturday"], times: [{start_time: "02:10", end_time: "03:30"}]}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		w, _ := cfg.BusinessHoursWindow(id)
		for _, base := range []time.Time{time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC)} {
			for at := base; at.Before(base.Add(7 * 24 * time.Hour)); at = at.Add(37*time.Minute + 13*time.Second) {
				got, ok := w.NextOpen(at)
				want := at
				if !w.Contains(at) {
					want = at.Truncate(time.Minute).Add(time.Minute)
					for !w.Contains(want) {
						want = want.Add(time.Minute)
					}
				}
				if !ok || !got.Equal(want) {
					t.Fatalf("%s: NextOpen(%s) = %s %v, a scan finds %s", id, at.In(ams), got.In(ams), ok, want.In(ams))
				}
			}
		}
	}
}
