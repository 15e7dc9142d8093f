package config_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

// scheduleYAML is a config whose rotation and override fields a test fills in.
func scheduleYAML(shift, start, from, to, wFrom, wTo string) string {
	q := strconv.Quote
	return `api_tokens:
  - {name: admin, token: admin-token}
users:
  - {id: alice, email: alice@example.com}
  - {id: bob, email: bob@example.com}
rotations:
  - id: r1
    participants: [alice, bob]
    shift: ` + q(shift) + `
    start: ` + q(start) + `
    active:
      - {from: ` + q(wFrom) + `, to: ` + q(wTo) + `}
schedules:
  - id: s1
    layers: [r1]
    overrides:
      - {from: ` + q(from) + `, to: ` + q(to) + `, user: bob}
`
}

// TestConfigThatValidatesCompiles is issue 10.3: these configs used to pass
// validation and then fail schedule.Compile, so /v1/oncall answered 500 and
// nobody was paged. Now validation refuses them at the offending field.
func TestConfigThatValidatesCompiles(t *testing.T) {
	const start, from, to = "2026-11-02 09:00", "2026-11-25 18:00", "2026-11-26 09:00"
	cases := []struct {
		name                   string
		shift, start, from, to string
		want                   string
	}{
		{"one second shift", "1s", start, from, to, "t.yaml:9:12: rotations[0].shift: 1s is shorter than the minimum of 1m"},
		{"fractional second shift", "90500ms", start, from, to, "t.yaml:9:12: rotations[0].shift: 1m30.5s is not a whole number of seconds"},
		{"fractional start", "1w", "2026-11-02T09:00:00.5Z", from, to, `t.yaml:10:12: rotations[0].start: "2026-11-02T09:00:00.5Z" has fractional seconds`},
		{"start in year 0", "1w", "0000-01-01 00:00", from, to, "t.yaml:10:12: rotations[0].start: out of range: 0000-01-01T00:00:00Z is outside years 1..9999"},
		{"fractional override", "1w", start, "2026-11-25T18:00:00.25+01:00", to, `t.yaml:17:16: schedules[0].overrides[0].from: "2026-11-25T18:00:00.25+01:00" has fractional seconds`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := scheduleYAML(c.shift, c.start, c.from, c.to, "09:00", "18:00")
			cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(y)}}, nil)
			if err == nil {
				_, cerr := schedule.Compile(cfg)
				t.Fatalf("config validated (compile error: %v); want %s", cerr, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("errors:\n%v\nwant a line %s", err, c.want)
			}
		})
	}
	// And the boundary that is fine: whole seconds, at least a minute.
	y := scheduleYAML("61s", start, from, to, "09:00", "18:00")
	cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(y)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schedule.Compile(cfg); err != nil {
		t.Fatal(err)
	}
}

// FuzzValidatedConfigCompiles is the property behind issue 10.3: whatever the
// schedule fields hold, a config Parse accepts is one schedule.Compile
// compiles and can answer who is on call with.
func FuzzValidatedConfigCompiles(f *testing.F) {
	f.Add("1w", "2026-11-02 09:00", "2026-11-25 18:00", "2026-11-26 09:00", "09:00", "18:00")
	f.Add("1s", "2026-11-02 09:00", "2026-11-25 18:00", "2026-11-26 09:00", "09:00", "24:00")
	f.Add("90500ms", "2026-11-02T09:00:00Z", "2026-11-25T18:00:00Z", "2026-11-26 09:00", "22:00", "06:00")
	f.Add("1d", "2026-11-02T09:00:00.5Z", "2026-11-25 18:00:30", "2026-11-26 09:00", "00:00", "24:00")
	f.Add("1h30m", "0000-01-01 00:00", "9999-12-31 23:59", "9999-12-31T23:59:59+14:00", "23:59", "00:00")
	f.Fuzz(func(t *testing.T, shift, start, from, to, wFrom, wTo string) {
		began := time.Now()
		defer func() {
			if el := time.Since(began); el > 5*time.Second {
				t.Fatalf("slow input: %v", el)
			}
		}()
		y := scheduleYAML(shift, start, from, to, wFrom, wTo)
		cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(y)}}, nil)
		if err != nil {
			return
		}
		set, err := schedule.Compile(cfg)
		if err != nil {
			t.Fatalf("validated but does not compile: %v\n%s", err, y)
		}
		for _, id := range set.IDs() {
			if _, err := set.OnCall(id, mustTime(t, "2026-11-29T12:00:00Z")); err != nil {
				t.Fatalf("validated and compiled, but OnCall(%s): %v\n%s", id, err, y)
			}
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// FuzzParsedConfigCompiles is the same property over whole documents: any
// YAML that Parse accepts compiles.
func FuzzParsedConfigCompiles(f *testing.F) {
	if ex, err := os.ReadFile("../configs/example.yaml"); err == nil {
		f.Add(ex)
	}
	f.Add([]byte(scheduleYAML("1w", "2026-11-02 09:00", "2026-11-25 18:00", "2026-11-26 09:00", "22:00", "06:00")))
	f.Add([]byte(scheduleYAML("61s", "2026-11-02T09:00:00+14:00", "0001-01-01 00:00", "9999-12-31 23:59", "00:00", "24:00")))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse([]config.Source{{Name: "f.yaml", Data: data}}, nil)
		if err != nil {
			return
		}
		if _, err := schedule.Compile(cfg); err != nil {
			t.Fatalf("validated but does not compile: %v\n%s", err, data)
		}
	})
}
