package schedule

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// benchConfig builds n schedules, each with 3 layers (weekly, daily with a
// business-hours window, 12h absolute) and 5 overrides, in Europe/Amsterdam.
func benchConfig(b testing.TB, n int) *config.Config {
	cfg := &config.Config{Timezone: "Europe/Amsterdam"}
	for i := range n {
		p := fmt.Sprintf("s%d-", i)
		cfg.Rotations = append(cfg.Rotations,
			config.Rotation{ID: p + "weekly", Participants: []string{"alice", "bob", "carol"}, Shift: dur(b, "1w"), Start: "2026-11-02 09:00"},
			config.Rotation{ID: p + "biz", Participants: []string{"dave", "erin"}, Shift: dur(b, "1d"), Start: "2026-01-05 09:00",
				Active: []config.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00"}}},
			config.Rotation{ID: p + "half", Participants: []string{"frank", "gina"}, Shift: dur(b, "12h"), Start: "2026-01-05 08:00", Timezone: "America/New_York"},
		)
		sch := config.Schedule{ID: p + "sched", Layers: []string{p + "weekly", p + "biz", p + "half"}}
		for k := range 5 {
			from := time.Date(2026, time.Month(1+2*k), 10, 18, 0, 0, 0, time.UTC)
			sch.Overrides = append(sch.Overrides, config.Override{
				From: from.Format(time.RFC3339), To: from.Add(15 * time.Hour).Format(time.RFC3339), User: "henk", Replaces: "alice"})
		}
		cfg.Schedules = append(cfg.Schedules, sch)
	}
	return cfg
}

func benchInstants(n int) []time.Time {
	r := rand.New(rand.NewPCG(11, 12))
	out := make([]time.Time, n)
	for i := range out {
		out[i] = randInstant(r, propFrom, propTo)
	}
	return out
}

// Target: ≤ 2 µs per call.
func BenchmarkOnCall3Layers5Overrides(b *testing.B) {
	s := mustCompile(b, benchConfig(b, 1))
	at := benchInstants(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.OnCall("s0-sched", at[i&1023]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// Target: ≤ 1 ms per call.
func BenchmarkShiftsOneYearWeekly(b *testing.B) {
	s := mustCompile(b, benchConfig(b, 1))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		sh, err := s.Shifts("s0-weekly", from, from.AddDate(1, 0, 0))
		if err != nil || len(sh) < 52 {
			b.Fatal(err, len(sh))
		}
	}
}

// The same window for the whole 3-layer schedule (not a stated target).
func BenchmarkShiftsOneYearSchedule(b *testing.B) {
	s := mustCompile(b, benchConfig(b, 1))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Shifts("s0-sched", from, from.AddDate(1, 0, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

// Target: ≤ 20 ms per 1,000 schedules.
func BenchmarkOnCall1000Schedules(b *testing.B) {
	s := mustCompile(b, benchConfig(b, 1000))
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%d-sched", i)
	}
	at := benchInstants(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		for _, id := range ids {
			if _, err := s.OnCall(id, at); err != nil {
				b.Fatal(err)
			}
		}
	}
}
