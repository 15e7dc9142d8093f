package reply

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"
)

var (
	tNow    = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tSecret = bytes.Repeat([]byte{0x42}, 32)
	tRing   = Keyring{Keys: []Key{{ID: 1, Secret: tSecret}}}
)

func mustMint(t testing.TB, k Keyring, id string, exp time.Time) string {
	t.Helper()
	tok, err := k.Mint(id, exp)
	if err != nil {
		t.Fatalf("Mint(%q): %v", id, err)
	}
	return tok
}

func TestTokenRoundTrip(t *testing.T) {
	ids := []string{"n", "n-42-1", "0-1-2", "-", strings.Repeat("z", MaxNotificationIDLen),
		"123e4567-e89b-12d3-a456-426614174000"}
	for _, id := range ids {
		tok := mustMint(t, tRing, id, tNow.Add(time.Hour))
		if len(tok) > MaxTokenLen {
			t.Errorf("%q: token %d chars", id, len(tok))
		}
		if tok != strings.ToLower(tok) || strings.Trim(tok, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("%q: token %q outside [a-z0-9-]", id, tok)
		}
		// It is a valid address local part.
		if _, err := mail.ParseAddress(tok + "@pager.example.com"); err != nil {
			t.Errorf("%q: %v", tok, err)
		}
		for _, variant := range []string{tok, strings.ToUpper(tok)} {
			got, err := tRing.Verify(variant, tNow)
			if err != nil || got != id {
				t.Errorf("Verify(%q) = %q, %v; want %q", variant, got, err, id)
			}
		}
	}
}

func TestTokenDeterministicAndBound(t *testing.T) {
	a := mustMint(t, tRing, "n-1", tNow.Add(time.Hour))
	if b := mustMint(t, tRing, "n-1", tNow.Add(time.Hour)); a != b {
		t.Fatalf("not deterministic: %s %s", a, b)
	}
	if b := mustMint(t, tRing, "n-2", tNow.Add(time.Hour)); a[3:] == b[3:] {
		t.Fatal("tail does not depend on the id")
	}
	if b := mustMint(t, tRing, "n-1", tNow.Add(time.Hour+time.Second)); a == b {
		t.Fatal("token does not depend on the expiry")
	}
	// Swapping in another token's id part must not verify.
	b := mustMint(t, tRing, "n-2", tNow.Add(time.Hour))
	if _, err := tRing.Verify("n-2"+a[3:], tNow); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("spliced token: %v", err)
	}
	_ = b
}

func TestTokenExpiry(t *testing.T) {
	exp := tNow.Add(time.Hour)
	tok := mustMint(t, tRing, "n-1", exp)
	if _, err := tRing.Verify(tok, exp.Add(-time.Second)); err != nil {
		t.Fatalf("one second before expiry: %v", err)
	}
	for _, at := range []time.Time{exp, exp.Add(time.Nanosecond), exp.Add(24 * time.Hour)} {
		if _, err := tRing.Verify(tok, at); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("at %s: %v, want expired", at, err)
		}
	}
}

func TestTokenRotation(t *testing.T) {
	old := Key{ID: 1, Secret: tSecret}
	tokOld := mustMint(t, Keyring{Keys: []Key{old}}, "n-1", tNow.Add(48*time.Hour))

	retireAt := tNow.Add(time.Hour)
	old.NotAfter = retireAt
	newKey := Key{ID: 2, Secret: bytes.Repeat([]byte{7}, 32)}
	ring := Keyring{Keys: []Key{old, newKey}}
	if err := ring.Validate(); err != nil {
		t.Fatal(err)
	}
	tokNew := mustMint(t, ring, "n-1", tNow.Add(48*time.Hour))
	if tokNew == tokOld {
		t.Fatal("Mint did not switch to the new key")
	}
	// Both verify while the old key is retiring.
	for _, tok := range []string{tokOld, tokNew} {
		if _, err := ring.Verify(tok, tNow); err != nil {
			t.Errorf("%s: %v", tok, err)
		}
	}
	// After NotAfter the old key's tokens are refused as retired, the new
	// ones still verify.
	if _, err := ring.Verify(tokOld, retireAt.Add(time.Second)); !errors.Is(err, ErrTokenKeyRetired) {
		t.Errorf("old token after retirement: %v", err)
	}
	if _, err := ring.Verify(tokNew, retireAt.Add(time.Second)); err != nil {
		t.Errorf("new token after retirement: %v", err)
	}
	// Once the old key is dropped from the ring, its tokens are unprovable.
	if _, err := (Keyring{Keys: []Key{newKey}}).Verify(tokOld, tNow); !errors.Is(err, ErrTokenForged) {
		t.Errorf("dropped key: %v", err)
	}
	// Newest current key is the last zero-NotAfter one.
	k3 := Key{ID: 3, Secret: bytes.Repeat([]byte{9}, 32)}
	ring = Keyring{Keys: []Key{newKey, k3, old}}
	tok3 := mustMint(t, ring, "n-1", tNow.Add(time.Hour))
	if _, err := (Keyring{Keys: []Key{k3}}).Verify(tok3, tNow); err != nil {
		t.Errorf("minted with wrong key: %v", err)
	}
}

func TestTokenForgedMutations(t *testing.T) {
	tok := mustMint(t, tRing, "n-42-7", tNow.Add(time.Hour))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"
	for i := 0; i < len(tok); i++ {
		for j := 0; j < len(alphabet); j++ {
			c := alphabet[j]
			if c == tok[i] {
				continue
			}
			m := tok[:i] + string(c) + tok[i+1:]
			id, err := tRing.Verify(m, tNow)
			if err == nil {
				t.Fatalf("mutation %q verified as %q", m, id)
			}
			if !errors.Is(err, ErrTokenForged) && !errors.Is(err, ErrTokenMalformed) {
				t.Fatalf("mutation %q: %v", m, err)
			}
		}
	}
	// Wrong secret.
	other := Keyring{Keys: []Key{{ID: 1, Secret: bytes.Repeat([]byte{0x43}, 32)}}}
	if _, err := other.Verify(tok, tNow); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("other secret: %v", err)
	}
}

func TestTokenMalformed(t *testing.T) {
	good := mustMint(t, tRing, "n-1", tNow.Add(time.Hour))
	tail := good[len(good)-tokenTailLen:]
	cases := []string{
		"", "x", tail, // no id part
		strings.Repeat("a", MaxTokenLen+1),
		"n_1" + tail, "n.1" + tail, "n 1" + tail, "n\x001" + tail,
		"n-1" + tail[:len(tail)-1] + "1", // '1' not in base32
		"n-1" + tail[:len(tail)-1],       // short tail shifts the split
		"ñ" + tail,
		"n-\u212a" + tail, // Kelvin sign lower-cases to 'k' in Unicode
	}
	for _, c := range cases {
		if _, err := tRing.Verify(c, tNow); !errors.Is(err, ErrTokenMalformed) && !errors.Is(err, ErrTokenForged) {
			t.Errorf("Verify(%q) = %v", c, err)
		}
	}
	if _, err := tRing.Verify("", tNow); !errors.Is(err, ErrTokenMalformed) {
		t.Errorf("empty: %v", err)
	}
}

func TestTokenNonCanonicalTail(t *testing.T) {
	tok := mustMint(t, tRing, "n-1", tNow.Add(time.Hour))
	// The last base32 character carries 1 data bit and 4 zero pad bits;
	// flipping a pad bit must not give a second valid spelling.
	last := tok[len(tok)-1]
	idx := strings.IndexByte("abcdefghijklmnopqrstuvwxyz234567", last)
	alt := "abcdefghijklmnopqrstuvwxyz234567"[idx^1]
	m := tok[:len(tok)-1] + string(alt)
	if _, err := tRing.Verify(m, tNow); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("non-canonical %q: %v", m, err)
	}
}

func TestMintErrors(t *testing.T) {
	exp := tNow.Add(time.Hour)
	for _, id := range []string{"", "N-1", "n_1", "n.1", strings.Repeat("a", MaxNotificationIDLen+1), "ü"} {
		if _, err := tRing.Mint(id, exp); !errors.Is(err, ErrNotificationID) {
			t.Errorf("Mint(%q): %v", id, err)
		}
	}
	for _, e := range []time.Time{time.Unix(0, 0), time.Unix(-5, 0), time.Unix(1<<32, 0), {}} {
		if _, err := tRing.Mint("n", e); !errors.Is(err, ErrTokenExpiry) {
			t.Errorf("Mint expiry %v: %v", e, err)
		}
	}
	if _, err := (Keyring{}).Mint("n", exp); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("empty ring: %v", err)
	}
	retired := Keyring{Keys: []Key{{ID: 1, Secret: tSecret, NotAfter: tNow}}}
	if _, err := retired.Mint("n", exp); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("only retired keys: %v", err)
	}
	weak := Keyring{Keys: []Key{{ID: 1, Secret: []byte("short")}}}
	if _, err := weak.Mint("n", exp); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("weak secret: %v", err)
	}
}

func TestVerifyRefusesWeakKey(t *testing.T) {
	// A token MACed with an empty key must not verify even if the ring
	// (misconfigured) holds an empty secret for that id.
	body := []byte{1, 0xff, 0xff, 0xff, 0xff}
	mac := tokenMAC(nil, body, "n")
	tok := "n" + tokenEncoding.EncodeToString(append(body, mac...))
	ring := Keyring{Keys: []Key{{ID: 1}}}
	if _, err := ring.Verify(tok, tNow); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("weak key: %v", err)
	}
}

func TestKeyringValidate(t *testing.T) {
	if err := tRing.Validate(); err != nil {
		t.Fatal(err)
	}
	dup := Keyring{Keys: []Key{{ID: 1, Secret: tSecret}, {ID: 1, Secret: tSecret}}}
	if dup.Validate() == nil {
		t.Error("duplicate ids accepted")
	}
	if (Keyring{Keys: []Key{{ID: 1, Secret: []byte("x")}}}).Validate() == nil {
		t.Error("short secret accepted")
	}
	if !errors.Is((Keyring{}).Validate(), ErrNoSigningKey) {
		t.Error("empty ring accepted")
	}
}

func FuzzVerifyToken(f *testing.F) {
	ring := Keyring{Keys: []Key{
		{ID: 1, Secret: tSecret, NotAfter: tNow.Add(time.Hour)},
		{ID: 2, Secret: bytes.Repeat([]byte{7}, 32)},
	}}
	for _, id := range []string{"n-1", "123e4567-e89b-12d3-a456-426614174000", "x"} {
		f.Add(mustMint(f, ring, id, tNow.Add(time.Hour)))
		f.Add(mustMint(f, Keyring{Keys: []Key{{ID: 1, Secret: tSecret}}}, id, tNow.Add(time.Hour)))
	}
	f.Add("")
	f.Add(strings.Repeat("a", 64))
	f.Add("n-1aaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := ring.Verify(token, tNow)
		if err != nil {
			if id != "" {
				t.Fatalf("id %q returned with error %v", id, err)
			}
			n := 0
			for _, s := range []error{ErrTokenMalformed, ErrTokenForged, ErrTokenKeyRetired, ErrTokenExpired} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v matches %d sentinels", err, n)
			}
			return
		}
		// Anything that verifies must be exactly what Mint produces for
		// that id, expiry and key: the fuzzer cannot invent a token.
		_, body, perr := splitToken(token)
		if perr != nil {
			t.Fatalf("verified but does not split: %v", perr)
		}
		key, _ := ring.lookup(body[0])
		exp := time.Unix(int64(uint32(body[1])<<24|uint32(body[2])<<16|uint32(body[3])<<8|uint32(body[4])), 0)
		want, merr := (Keyring{Keys: []Key{{ID: key.ID, Secret: key.Secret}}}).Mint(id, exp)
		if merr != nil || want != ASCIILower(token) {
			t.Fatalf("token %q verified as %q but Mint gives %q (%v)", token, id, want, merr)
		}
	})
}
