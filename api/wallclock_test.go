package api

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// FuzzTimeInZone: any query value is an instant or a precise error, never a
// panic; a wall-clock value lands in the default zone given.
func FuzzTimeInZone(f *testing.F) {
	for _, s := range []string{"2026-11-30 10:00", "2026-11-30T10:00:00Z", "2026-03-29 02:30", "2026-10-25T02:30:00", "tomorrow", "", "9999-12-31 23:59:59"} {
		f.Add(s)
	}
	def := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/?at="+url.QueryEscape(v), nil)
		got, err := timeInZone(r, "at", def, nil, "", "Europe/Amsterdam")
		if err != nil {
			if got != (time.Time{}) {
				t.Fatalf("error with a time: %v %v", got, err)
			}
			return
		}
		if v == "" && !got.Equal(def) {
			t.Fatalf("empty value: %v, want the default", got)
		}
	})
}

func TestTimeInZoneReadsWallClockInTheZone(t *testing.T) {
	r := httptest.NewRequest("GET", "/?at="+url.QueryEscape("2026-07-01 10:00"), nil)
	got, err := timeInZone(r, "at", time.Time{}, nil, "", "Europe/Amsterdam")
	if want := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Fatalf("%v %v, want %v (CEST)", got, err, want)
	}
}
