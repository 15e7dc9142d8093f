package web

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/reply"
)

// FuzzParseSession: a session cookie is outside input. Parsing never
// panics, and nothing but a value this key signed verifies.
func FuzzParseSession(f *testing.F) {
	kr := reply.Keyring{Keys: []reply.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}}
	con := &Console{now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	sign := func(s string) string { return s + ".1." + mac(sessionKey(kr.Keys[0]), "session", s, "1") }
	good := sign("eyJuIjoiYWxpY2UiLCJrIjoidXNlciIsInMiOiJ4IiwiZSI6MTkwMDAwMDAwMH0")
	f.Add(good)
	f.Add("a.b.c")
	f.Add("..")
	f.Add("x.999.y")
	f.Fuzz(func(t *testing.T, v string) {
		s, _, ok := con.parseSessionWith(kr, v)
		if ok && v != good && sign(strings.SplitN(v, ".", 2)[0]) != v {
			t.Fatalf("%q verified without a valid MAC: %+v", v, s)
		}
	})
}

// FuzzZoneCookie: the zone cookie reaches time.LoadLocation only as an
// IANA-shaped name.
func FuzzZoneCookie(f *testing.F) {
	for _, s := range []string{"Asia/Tokyo", "../../etc/passwd", "UTC", "America/Argentina/Buenos_Aires", "/etc/localtime"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validZoneName(s) && (len(s) == 0 || s[0] == '/' || strings.Contains(s, "..")) {
			t.Fatalf("%q accepted", s)
		}
	})
}
