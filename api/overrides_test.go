package api

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

func overrideTestSet(t testing.TB) (*config.Config, *schedule.Set) {
	cfg, err := config.Parse([]config.Source{{Name: "c.yaml", Data: []byte(`
timezone: UTC
users: [{id: alice, email: a@example.com}, {id: dave, email: d@example.com}]
rotations: [{id: ops, participants: [alice], shift: 1d, start: "2026-11-01 00:00"}]
schedules: [{id: web, timezone: Europe/Amsterdam, layers: [ops]}]
services: [{id: checkout}]
`)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	set, err := schedule.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, set
}

// Wall-clock times are read in the schedule's zone, like the config's own
// override times.
func TestOverrideBodyReadsWallClockInScheduleZone(t *testing.T) {
	_, set := overrideTestSet(t)
	o, err := overrideFromBody(&overrideBody{From: "2026-12-01 18:00", To: "2026-12-02T09:00:00Z", User: "dave"}, set, "web", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.From.Format("2006-01-02T15:04:05Z07:00"); got != "2026-12-01T17:00:00Z" {
		t.Errorf("from %s, want 17:00Z (18:00 in Amsterdam)", got)
	}
	if _, err := overrideFromBody(&overrideBody{From: "soon", To: "2026-12-02T09:00:00Z", User: "dave"}, set, "web", "UTC"); err == nil || !strings.HasPrefix(err.Error(), "from:") {
		t.Errorf("bad from: %v", err)
	}
}

// FuzzOverrideBody: any POST body is decoded, read and validated without a
// panic, and whatever passes validation is a well-formed override.
func FuzzOverrideBody(f *testing.F) {
	f.Add(`{"from":"2026-12-01 18:00","to":"2026-12-02 09:00","user":"dave","replaces":"alice"}`)
	f.Add(`{"from":"2026-12-01T18:00:00Z","to":"2026-12-01T17:00:00Z","user":"dave"}`)
	f.Add(`{"from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59+14:00","user":"dave"}`)
	f.Add(`{"from":1}`)
	cfg, set := overrideTestSet(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/schedules/web/overrides", bytes.NewBufferString(body))
		var b overrideBody
		if err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody); err != nil {
			return
		}
		o, err := overrideFromBody(&b, set, "web", "UTC")
		if err != nil {
			return
		}
		if err := cluster.ValidateOverride(cfg, &o); err != nil {
			return
		}
		if !o.To.After(o.From) || o.User == "" {
			t.Fatalf("accepted %+v", o)
		}
		_ = set.WithOverrides(map[string][]schedule.Override{"web": {{From: o.From, To: o.To, User: o.User, Replaces: o.Replaces}}})
	})
}
