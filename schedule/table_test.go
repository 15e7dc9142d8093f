package schedule

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// Weekly 09:00 handoff in Europe/Amsterdam across both 2026 changes.
// Anchor: Mon 2026-03-23 09:00 CET (+1) = 08:00Z, turn 0 = alice.
//   - Summer time starts Sun 29 March 02:00 CET -> 03:00 CEST.
//     Turn 1 (bob) starts Mon 30 March 09:00 CEST (+2) = 07:00Z, so turn 0 is
//     167 hours long; an absolute 168h shift would wrongly hand off at 08:00Z.
//   - Turn -1 (carol) runs Mon 16 March 08:00Z .. Mon 23 March 08:00Z.
//   - Mon 19 Oct is 8+30+31+30+31+31+30+19 = 210 days = 30 weeks after the
//     anchor: turn 30, 30 mod 3 = 0 -> alice, from 09:00 CEST = 07:00Z.
//     Summer time ends Sun 25 Oct 03:00 CEST -> 02:00 CET, so turn 31 (bob)
//     starts Mon 26 Oct 09:00 CET = 08:00Z (turn 30 is 169 hours).
func TestWeeklyHandoffAmsterdam(t *testing.T) {
	s := mustCompile(t, &config.Config{Rotations: []config.Rotation{{
		ID: "r", Participants: []string{"alice", "bob", "carol"}, Shift: dur(t, "1w"),
		Start: "2026-03-23 09:00", Timezone: "Europe/Amsterdam",
	}}})
	checkOnCall(t, s, "r", []onCallCase{
		{"2026-03-23T08:00:00Z", []string{"alice"}, "anchor 09:00 CET"},
		{"2026-03-23T07:59:59Z", []string{"carol"}, "turn -1 ends at the anchor"},
		{"2026-03-16T08:00:00Z", []string{"carol"}, "turn -1 starts 09:00 CET a week before"},
		{"2026-03-16T07:59:59Z", []string{"bob"}, "turn -2 = bob"},
		{"2026-03-29T00:59:59Z", []string{"alice"}, "just before the spring-forward jump"},
		{"2026-03-30T06:59:59Z", []string{"alice"}, "08:59:59 CEST"},
		{"2026-03-30T07:00:00Z", []string{"bob"}, "09:00 CEST = 07:00Z"},
		{"2026-03-30T07:30:00Z", []string{"bob"}, "absolute arithmetic would still say alice"},
		{"2026-10-19T06:59:59Z", []string{"carol"}, "turn 29 = carol until 09:00 CEST"},
		{"2026-10-19T07:00:00Z", []string{"alice"}, "turn 30"},
		{"2026-10-26T07:30:00Z", []string{"alice"}, "08:30 CET, still turn 30"},
		{"2026-10-26T08:00:00Z", []string{"bob"}, "09:00 CET = 08:00Z"},
	})
	got, err := s.Shifts("r", utc(t, "2026-03-23T00:00:00Z"), utc(t, "2026-04-06T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"carol 2026-03-23T00:00:00Z 2026-03-23T08:00:00Z",
		"alice 2026-03-23T08:00:00Z 2026-03-30T07:00:00Z",
		"bob 2026-03-30T07:00:00Z 2026-04-06T00:00:00Z",
	}
	if g := shiftsString(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("shifts:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// Weekly 09:00 handoff in America/New_York across both 2026 changes.
// Anchor: Mon 2026-03-02 09:00 EST (-5) = 14:00Z, turn 0 = alice.
//   - DST starts Sun 8 March 02:00 EST -> 03:00 EDT. Turn 1 (bob) starts
//     Mon 9 March 09:00 EDT (-4) = 13:00Z.
//   - Mon 26 Oct is 29+30+31+30+31+31+30+26 = 238 days = 34 weeks after the
//     anchor: turn 34, 34 mod 3 = 1 -> bob from 09:00 EDT = 13:00Z.
//     DST ends Sun 1 Nov 02:00 EDT -> 01:00 EST; turn 35 (35 mod 3 = 2,
//     carol) starts Mon 2 Nov 09:00 EST = 14:00Z.
func TestWeeklyHandoffNewYork(t *testing.T) {
	s := mustCompile(t, &config.Config{Timezone: "America/New_York", Rotations: []config.Rotation{{
		ID: "r", Participants: []string{"alice", "bob", "carol"}, Shift: dur(t, "1w"),
		Start: "2026-03-02 09:00",
	}}})
	checkOnCall(t, s, "r", []onCallCase{
		{"2026-03-02T14:00:00Z", []string{"alice"}, "anchor"},
		{"2026-03-09T12:59:59Z", []string{"alice"}, "08:59:59 EDT"},
		{"2026-03-09T13:00:00Z", []string{"bob"}, "09:00 EDT"},
		{"2026-10-26T12:59:59Z", []string{"alice"}, "turn 33 = alice"},
		{"2026-10-26T13:00:00Z", []string{"bob"}, "turn 34 at 09:00 EDT"},
		{"2026-11-02T13:59:59Z", []string{"bob"}, "08:59:59 EST"},
		{"2026-11-02T14:00:00Z", []string{"carol"}, "09:00 EST"},
	})
}

// Daily handoff at 02:30 Amsterdam local, anchored Fri 2026-03-27 02:30 CET
// (01:30Z) = alice; turns alternate alice, bob.
//   - Sat 28 Mar (turn 1, bob) 02:30 CET = 01:30Z.
//   - Sun 29 Mar (turn 2, alice): 02:30 does not exist (02:00 CET jumps to
//     03:00 CEST at 01:00Z); handoff at the first instant after the gap, 01:00Z.
//   - Mon 30 Mar (turn 3, bob) 02:30 CEST = 00:30Z.
//   - Sun 25 Oct is 4+30+31+30+31+31+30+25 = 212 days later: turn 212, alice.
//     02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET); the handoff is
//     the first, 00:30Z. Turn 211 (bob) started Sat 24 Oct 02:30 CEST = 00:30Z;
//     turn 213 (bob) starts Mon 26 Oct 02:30 CET = 01:30Z, so turn 212 is 25h.
func TestDailyHandoffInGapAndFold(t *testing.T) {
	s := mustCompile(t, &config.Config{Timezone: "Europe/Amsterdam", Rotations: []config.Rotation{{
		ID: "r", Participants: []string{"alice", "bob"}, Shift: dur(t, "1d"), Start: "2026-03-27 02:30",
	}, {
		// Anchored inside the gap itself: the handoff time stays 02:30 on other days.
		ID: "g", Participants: []string{"x", "y"}, Shift: dur(t, "1d"), Start: "2026-03-29 02:30",
	}}})
	checkOnCall(t, s, "r", []onCallCase{
		{"2026-03-28T01:29:59Z", []string{"alice"}, "turn 0"},
		{"2026-03-28T01:30:00Z", []string{"bob"}, "turn 1 at 02:30 CET"},
		{"2026-03-29T00:59:59Z", []string{"bob"}, "01:59:59 CET, before the gap"},
		{"2026-03-29T01:00:00Z", []string{"alice"}, "03:00 CEST, first instant after the gap"},
		{"2026-03-30T00:29:59Z", []string{"alice"}, "02:29:59 CEST"},
		{"2026-03-30T00:30:00Z", []string{"bob"}, "02:30 CEST"},
		{"2026-10-25T00:29:59Z", []string{"bob"}, "turn 211"},
		{"2026-10-25T00:30:00Z", []string{"alice"}, "first 02:30 (CEST)"},
		{"2026-10-25T01:30:00Z", []string{"alice"}, "second 02:30 (CET) is no handoff"},
		{"2026-10-26T01:29:59Z", []string{"alice"}, "turn 212 lasts 25h"},
		{"2026-10-26T01:30:00Z", []string{"bob"}, "02:30 CET"},
	})
	checkOnCall(t, s, "g", []onCallCase{
		{"2026-03-29T01:00:00Z", []string{"x"}, "anchor resolves to 03:00 CEST"},
		{"2026-03-30T00:29:59Z", []string{"x"}, ""},
		{"2026-03-30T00:30:00Z", []string{"y"}, "02:30 CEST next day, not 03:00"},
		{"2026-03-28T01:30:00Z", []string{"y"}, "turn -1 at 02:30 CET"},
	})
}

// A 12h shift is an absolute duration: anchored Sat 2026-03-28 20:00 CET
// (19:00Z), handoffs every 12h at 07:00Z and 19:00Z, which is 09:00/21:00 CEST
// after the change rather than 08:00/20:00.
func TestSubDayShiftIsAbsolute(t *testing.T) {
	s := mustCompile(t, &config.Config{Rotations: []config.Rotation{{
		ID: "r", Participants: []string{"a", "b"}, Shift: dur(t, "12h"), Start: "2026-03-28 20:00", Timezone: "Europe/Amsterdam",
	}}})
	checkOnCall(t, s, "r", []onCallCase{
		{"2026-03-28T19:00:00Z", []string{"a"}, "anchor"},
		{"2026-03-29T06:59:59Z", []string{"a"}, "12h later minus 1s"},
		{"2026-03-29T07:00:00Z", []string{"b"}, "19:00Z + 12h"},
		{"2026-03-29T19:00:00Z", []string{"a"}, "+24h"},
		{"2026-03-28T18:59:59Z", []string{"b"}, "turn -1"},
	})
}

// Windows in Amsterdam winter (CET, +1). Rotation alice/bob weekly from
// Mon 2026-01-05 09:00 CET (08:00Z): alice until Mon 12 Jan 08:00Z, then bob.
// Window 1: fri, sat, sun 22:00-06:00 (crosses midnight; the sunday one
// crosses the end of the week into monday). Window 2: mon 08:00-10:00 CET
// (07:00Z-09:00Z) straddles the 09:00 CET handoff: alice covers up to 08:00Z,
// bob after (the participant whose turn contains each instant).
func TestWindowsCrossMidnightAndWeek(t *testing.T) {
	s := mustCompile(t, &config.Config{Timezone: "Europe/Amsterdam", Rotations: []config.Rotation{{
		ID: "n", Participants: []string{"alice", "bob"}, Shift: dur(t, "1w"), Start: "2026-01-05 09:00",
		Active: []config.Window{
			{Days: []string{"fri", "sat", "sun"}, From: "22:00", To: "06:00"},
			{Days: []string{"mon"}, From: "08:00", To: "10:00"},
		},
	}}})
	checkOnCall(t, s, "n", []onCallCase{
		{"2026-01-08T23:00:00Z", nil, "Fri 00:00 CET: thursday night has no window"},
		{"2026-01-09T20:59:59Z", nil, "Fri 21:59:59 CET"},
		{"2026-01-09T21:00:00Z", []string{"alice"}, "Fri 22:00 CET"},
		{"2026-01-10T03:00:00Z", []string{"alice"}, "Sat 04:00 CET, friday's window"},
		{"2026-01-10T05:00:00Z", nil, "Sat 06:00 CET"},
		{"2026-01-11T21:00:00Z", []string{"alice"}, "Sun 22:00 CET"},
		{"2026-01-12T04:59:59Z", []string{"alice"}, "Mon 05:59:59 CET, sunday's window past the week end"},
		{"2026-01-12T05:00:00Z", nil, "Mon 06:00"},
		{"2026-01-12T07:30:00Z", []string{"alice"}, "Mon 08:30 CET, before the handoff"},
		{"2026-01-12T08:00:00Z", []string{"bob"}, "Mon 09:00 CET handoff inside the window"},
		{"2026-01-12T09:00:00Z", nil, "Mon 10:00 CET"},
	})
	from, to := utc(t, "2026-01-09T00:00:00Z"), utc(t, "2026-01-13T00:00:00Z")
	got, err := s.Shifts("n", from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"alice 2026-01-09T21:00:00Z 2026-01-10T05:00:00Z",
		"alice 2026-01-10T21:00:00Z 2026-01-11T05:00:00Z",
		"alice 2026-01-11T21:00:00Z 2026-01-12T05:00:00Z",
		"alice 2026-01-12T07:00:00Z 2026-01-12T08:00:00Z",
		"bob 2026-01-12T08:00:00Z 2026-01-12T09:00:00Z",
	}
	if g := shiftsString(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("shifts:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	gaps, err := s.Gaps("n", from, to)
	if err != nil {
		t.Fatal(err)
	}
	var gs []string
	for _, g := range gaps {
		gs = append(gs, g.Start.Format("01-02T15:04")+"/"+g.End.Format("01-02T15:04"))
	}
	wantGaps := "01-09T00:00/01-09T21:00 01-10T05:00/01-10T21:00 01-11T05:00/01-11T21:00 01-12T05:00/01-12T07:00 01-12T09:00/01-13T00:00"
	if strings.Join(gs, " ") != wantGaps {
		t.Errorf("gaps %v\nwant %s", gs, wantGaps)
	}
}

// layeredConfig stacks three layers and three overrides (all UTC):
//
//	L1 base:     alice/bob weekly from Mon 2026-06-01 00:00 (alice all week)
//	L2 business: carol, mon-fri 09:00-17:00
//	L3 lunch:    dave, every day 12:00-13:00
//	o1 erin, Wed 3 Jun 00:00-24:00, no replaces: erin alone
//	o2 frank replaces erin, Wed 12:00-14:00
//	o3 gina replaces carol, Wed 13:00-15:00: carol is not on call then (o1
//	   removed everyone), so gina is added beside whoever is.
func layeredConfig(t testing.TB) *config.Config {
	return &config.Config{Timezone: "UTC", Rotations: []config.Rotation{
		{ID: "base", Participants: []string{"alice", "bob"}, Shift: dur(t, "1w"), Start: "2026-06-01 00:00"},
		{ID: "business", Participants: []string{"carol"}, Shift: dur(t, "1w"), Start: "2026-06-01 00:00",
			Active: []config.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00"}}},
		{ID: "lunch", Participants: []string{"dave"}, Shift: dur(t, "1d"), Start: "2026-06-01 00:00",
			Active: []config.Window{{From: "12:00", To: "13:00"}}},
	}, Schedules: []config.Schedule{{
		ID: "web", Layers: []string{"base", "business", "lunch"},
		Overrides: []config.Override{
			{From: "2026-06-03 00:00", To: "2026-06-04 00:00", User: "erin"},
			{From: "2026-06-03 12:00", To: "2026-06-03 14:00", User: "frank", Replaces: "erin"},
			{From: "2026-06-03T13:00:00Z", To: "2026-06-03T15:00:00Z", User: "gina", Replaces: "carol"},
		},
	}, {
		ID: "biz", Layers: []string{"business"},
	}}}
}

func TestLayersAndOverridesThreeDeep(t *testing.T) {
	s := mustCompile(t, layeredConfig(t))
	checkOnCall(t, s, "web", []onCallCase{
		{"2026-06-02T08:59:59Z", []string{"alice"}, "only the base layer"},
		{"2026-06-02T09:00:00Z", []string{"carol"}, "business beats base"},
		{"2026-06-02T12:30:00Z", []string{"dave"}, "lunch beats business"},
		{"2026-06-02T13:00:00Z", []string{"carol"}, ""},
		{"2026-06-02T17:00:00Z", []string{"alice"}, ""},
		{"2026-06-03T11:00:00Z", []string{"erin"}, "o1 replaces everyone"},
		{"2026-06-03T12:30:00Z", []string{"frank"}, "o2 replaces erin"},
		{"2026-06-03T13:30:00Z", []string{"frank", "gina"}, "o3 replaces carol, absent: gina added"},
		{"2026-06-03T14:30:00Z", []string{"erin", "gina"}, "o2 over"},
		{"2026-06-03T15:00:00Z", []string{"erin"}, "o3 over"},
		{"2026-06-04T00:00:00Z", []string{"alice"}, "o1 over"},
	})
	// A rotation id answers like a schedule.
	checkOnCall(t, s, "lunch", []onCallCase{{"2026-06-03T12:30:00Z", []string{"dave"}, "rotation id"}})
	got, err := s.Shifts("web", utc(t, "2026-06-02T00:00:00Z"), utc(t, "2026-06-04T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"alice 2026-06-02T00:00:00Z 2026-06-02T09:00:00Z",
		"carol 2026-06-02T09:00:00Z 2026-06-02T12:00:00Z",
		"dave 2026-06-02T12:00:00Z 2026-06-02T13:00:00Z",
		"carol 2026-06-02T13:00:00Z 2026-06-02T17:00:00Z",
		"alice 2026-06-02T17:00:00Z 2026-06-03T00:00:00Z",
		"erin 2026-06-03T00:00:00Z 2026-06-03T12:00:00Z",
		"frank 2026-06-03T12:00:00Z 2026-06-03T14:00:00Z",
		"gina 2026-06-03T13:00:00Z 2026-06-03T15:00:00Z",
		"erin 2026-06-03T14:00:00Z 2026-06-04T00:00:00Z",
	}
	if g := shiftsString(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("shifts:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// Schedule "biz" has only the business-hours layer: nights and the weekend
// are gaps. Fri 5 Jun 17:00 to Mon 8 Jun 09:00 is one gap.
func TestScheduleWithGaps(t *testing.T) {
	s := mustCompile(t, layeredConfig(t))
	checkOnCall(t, s, "biz", []onCallCase{
		{"2026-06-06T12:00:00Z", []string{}, "saturday: a gap is an answer"},
		{"2026-06-05T16:59:59Z", []string{"carol"}, ""},
	})
	gaps, err := s.Gaps("biz", utc(t, "2026-06-05T00:00:00Z"), utc(t, "2026-06-09T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var gs []string
	for _, g := range gaps {
		gs = append(gs, g.Start.Format("01-02T15")+"/"+g.End.Format("01-02T15"))
	}
	want := "06-05T00/06-05T09 06-05T17/06-08T09 06-08T17/06-09T00"
	if strings.Join(gs, " ") != want {
		t.Errorf("gaps %v want %s", gs, want)
	}
}

func TestIDsAndErrors(t *testing.T) {
	s := mustCompile(t, layeredConfig(t))
	if got := strings.Join(s.IDs(), ","); got != "biz,web,base,business,lunch" {
		t.Errorf("IDs = %s", got)
	}
	if !s.IsSchedule("web") || s.IsSchedule("base") {
		t.Error("IsSchedule")
	}
	if _, err := s.OnCall("nope", utc(t, "2026-06-02T00:00:00Z")); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Shifts("nope", utc(t, "2026-06-02T00:00:00Z"), utc(t, "2026-06-03T00:00:00Z")); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown id: %v", err)
	}
	if sh, err := s.Shifts("web", utc(t, "2026-06-03T00:00:00Z"), utc(t, "2026-06-02T00:00:00Z")); err != nil || len(sh) != 0 {
		t.Errorf("reversed window: %v %v", sh, err)
	}
}

// Compile must refuse invalid input with ErrInvalid and never panic.
func TestCompileRejectsInvalid(t *testing.T) {
	ok := config.Rotation{ID: "r", Participants: []string{"a"}, Shift: config.Duration(24 * 3600e9), Start: "2026-01-01 09:00"}
	mod := func(f func(*config.Config)) *config.Config {
		c := &config.Config{Rotations: []config.Rotation{ok}, Schedules: []config.Schedule{{ID: "s", Layers: []string{"r"}}}}
		f(c)
		return c
	}
	cases := map[string]*config.Config{
		"nil":        nil,
		"zone":       mod(func(c *config.Config) { c.Timezone = "Mars/Olympus" }),
		"start":      mod(func(c *config.Config) { c.Rotations[0].Start = "tomorrow" }),
		"zero shift": mod(func(c *config.Config) { c.Rotations[0].Shift = 0 }),
		"negative":   mod(func(c *config.Config) { c.Rotations[0].Shift = -1 }),
		"window":     mod(func(c *config.Config) { c.Rotations[0].Active = []config.Window{{From: "25:00", To: "06:00"}} }),
		"day": mod(func(c *config.Config) {
			c.Rotations[0].Active = []config.Window{{Days: []string{"funday"}, From: "01:00", To: "06:00"}}
		}),
		"layer": mod(func(c *config.Config) { c.Schedules[0].Layers = []string{"missing"} }),
		"override": mod(func(c *config.Config) {
			c.Schedules[0].Overrides = []config.Override{{From: "2026-01-02 00:00", To: "2026-01-01 00:00", User: "x"}}
		}),
		"override time": mod(func(c *config.Config) {
			c.Schedules[0].Overrides = []config.Override{{From: "x", To: "2026-01-01 00:00", User: "x"}}
		}),
		"dup rotation": mod(func(c *config.Config) { c.Rotations = append(c.Rotations, ok) }),
		"no id":        mod(func(c *config.Config) { c.Rotations[0].ID = "" }),
		"year 0":       mod(func(c *config.Config) { c.Rotations[0].Start = "0000-01-01T00:00:00Z" }),
	}
	for name, cfg := range cases {
		// Compile refuses the whole config, or (a rotation or schedule
		// that does not compile) answers ErrInvalid for schedule s.
		set, err := Compile(cfg)
		if err == nil {
			_, err = set.OnCall("s", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	// Empty participants are valid: the rotation has nobody, which is a gap.
	s := mustCompile(t, mod(func(c *config.Config) { c.Rotations[0].Participants = nil }))
	checkOnCall(t, s, "s", []onCallCase{{"2026-01-05T00:00:00Z", []string{}, "empty rotation"}})
}

// A rotation that does not compile (a replicated config an earlier release
// admitted) breaks itself and the schedules layered on it, not the set: the
// other schedules answer and are listed, the broken ones answer ErrInvalid
// naming the field.
func TestBrokenRotationLeavesOthersWorking(t *testing.T) {
	good := config.Rotation{ID: "good", Participants: []string{"a"}, Shift: config.Duration(24 * 3600e9), Start: "2026-01-01 09:00"}
	bad := good
	bad.ID, bad.Shift = "bad", config.Duration(90500e6) // 90.5 s: not whole seconds
	cfg := &config.Config{Rotations: []config.Rotation{good, bad},
		Schedules: []config.Schedule{{ID: "ok", Layers: []string{"good"}}, {ID: "broken", Layers: []string{"bad"}}}}
	set, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	at := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	if users, err := set.OnCall("ok", at); err != nil || len(users) != 1 {
		t.Fatalf("ok: %v %v", users, err)
	}
	for _, id := range []string{"bad", "broken"} {
		_, err := set.OnCall(id, at)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "shift") {
			t.Fatalf("%s: got %v, want ErrInvalid naming the shift", id, err)
		}
	}
	if ids := set.IDs(); slices.Contains(ids, "broken") || slices.Contains(ids, "bad") || !slices.Contains(ids, "ok") {
		t.Fatalf("IDs %v", ids)
	}
	if b := set.Broken(); len(b) != 2 {
		t.Fatalf("Broken %v", b)
	}
}
