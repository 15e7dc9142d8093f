package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// answersDigest hashes a fixed batch of OnCall, Shifts and Diff answers over
// random configs; it must not depend on the machine's local zone.
func answersDigest(t testing.TB) string {
	h := sha256.New()
	r := rand.New(rand.NewPCG(7, 8))
	for range 25 {
		cfg := randConfig(r, false)
		s := mustCompile(t, cfg)
		for range 20 {
			at := randInstant(r, propFrom, propTo)
			u, _ := s.OnCall("s", at)
			fmt.Fprintln(h, at.UnixNano(), u)
		}
		from := randInstant(r, propFrom, propTo)
		sh, err := s.Shifts("s", from, from.Add(14*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sh {
			fmt.Fprintln(h, x.User, x.Start.Format(time.RFC3339Nano), x.End.Format(time.RFC3339Nano))
		}
		other := mustCompile(t, randConfig(r, false))
		for _, c := range DiffShifts(s, other, from, from.Add(7*24*time.Hour)) {
			fmt.Fprintln(h, FormatChange(c))
		}
		h.Write(ICS("s", sh, propFrom))
	}
	return hex.EncodeToString(h.Sum(nil))
}

var tzTestZones = []string{"UTC", "America/New_York", "Europe/Amsterdam", "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe"}

// TestLocalZoneIndependence re-executes the test binary with TZ set to
// several zones (the process-wide local zone is read once at start-up, so only
// a fresh process really tests TZ), and also flips time.Local in-process.
func TestLocalZoneIndependence(t *testing.T) {
	if os.Getenv("PAGERD_SCHEDULE_TZ_CHILD") == "1" {
		fmt.Printf("DIGEST=%s\n", answersDigest(t))
		return
	}
	want := answersDigest(t)
	for _, tz := range tzTestZones {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLocalZoneIndependence$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PAGERD_SCHEDULE_TZ_CHILD=1", "TZ="+tz)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("TZ=%s: %v\n%s", tz, err, out)
		}
		got := ""
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "DIGEST="); ok {
				got = v
			}
		}
		if got != want {
			t.Errorf("TZ=%s: digest %q, want %q", tz, got, want)
		}
	}
	saved := time.Local
	defer func() { time.Local = saved }()
	for _, tz := range tzTestZones {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		if got := answersDigest(t); got != want {
			t.Errorf("time.Local=%s: digest differs", tz)
		}
	}
}
