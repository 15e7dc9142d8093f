package cluster

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// applyAt is in overrides_test.go.

func loginCmd(t *testing.T, typ CommandType, body any) command {
	t.Helper()
	c, err := newCommand(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A mailed link signs in once, within LoginLinkTTL of the leader's stamp;
// a second use and a late use are refused, on every replica alike.
func TestLoginLinkIsSingleUseAndExpires(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	res := applyAt(t, f, 1, t0,
		loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: "a", User: "alice"}),
		loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: "b", User: "bob"}))
	if l := res[0].Value.(LoginLink); !l.ExpiresAt.Equal(t0.Add(15*time.Minute)) || l.User != "alice" {
		t.Fatalf("link a = %+v", l)
	}

	res = applyAt(t, f, 2, t0.Add(14*time.Minute), loginCmd(t, TypeLoginUse, LoginUseCommand{ID: "a"}))
	if res[0].Err != nil || res[0].Value.(LoginLink).User != "alice" {
		t.Fatalf("first use: %+v", res[0])
	}
	res = applyAt(t, f, 3, t0.Add(14*time.Minute), loginCmd(t, TypeLoginUse, LoginUseCommand{ID: "a"}))
	if !errors.Is(res[0].Err, ErrLoginLinkUnknown) {
		t.Fatalf("second use: err %v, want ErrLoginLinkUnknown", res[0].Err)
	}
	res = applyAt(t, f, 4, t0.Add(15*time.Minute), loginCmd(t, TypeLoginUse, LoginUseCommand{ID: "b"}))
	if !errors.Is(res[0].Err, ErrLoginLinkUnknown) && !errors.Is(res[0].Err, ErrLoginLinkExpired) {
		t.Fatalf("use at expiry: err %v, want refused", res[0].Err)
	}
	res = applyAt(t, f, 5, t0, loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: "", User: "x"}))
	if res[0].Err == nil {
		t.Fatal("a link without id was recorded")
	}
}

// The use just after expiry names expiry (the link is still held then),
// so the person knows to ask for a new one.
func TestLoginLinkExpiredSaysSo(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, t0, loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: "a", User: "alice"}))
	// Apply of the use prunes only after looking the link up.
	res := applyAt(t, f, 2, t0.Add(16*time.Minute), loginCmd(t, TypeLoginUse, LoginUseCommand{ID: "a"}))
	if !errors.Is(res[0].Err, ErrLoginLinkExpired) {
		t.Fatalf("err %v, want ErrLoginLinkExpired", res[0].Err)
	}
}

// Unused links survive a snapshot and restore (a node installing a
// snapshot accepts them too); only their hashes are stored.
func TestLoginLinksInSnapshot(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, t0, loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: "h1", User: "alice"}))
	snap := snapshotBytes(t, f)
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, snapshotBytes(t, g)) {
		t.Fatal("snapshot differs after restore")
	}
	res := applyAt(t, g, 2, t0.Add(time.Minute), loginCmd(t, TypeLoginUse, LoginUseCommand{ID: "h1"}))
	if res[0].Err != nil {
		t.Fatalf("restored link refused: %v", res[0].Err)
	}
}

// The held links are bounded; the oldest go first, the same on every replica.
func TestLoginLinksAreCapped(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i := 0; i <= maxLoginLinks; i++ {
		applyAt(t, f, uint64(i+1), t0.Add(time.Duration(i)*time.Millisecond),
			loginCmd(t, TypeLoginLink, LoginLinkCommand{ID: string(rune('a'+i%26)) + time.Duration(i).String(), User: "u"}))
	}
	if len(f.loginLinks) != maxLoginLinks {
		t.Fatalf("%d links held, want %d", len(f.loginLinks), maxLoginLinks)
	}
	if _, ok := f.loginLinks["a0s"]; ok {
		t.Fatal("the oldest link was kept")
	}
}
