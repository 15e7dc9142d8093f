package reply

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Reply-To token layout (see DESIGN.md for the reasoning):
//
//	token = id || base32lower(kid[1] || expiry[4] || mac[12])
//
// id is the notification id itself, 1..MaxNotificationIDLen characters of
// [a-z0-9-]; the base32 tail is always tokenTailLen characters, so the split
// needs no separator. expiry is big-endian uint32 unix seconds. mac is
// HMAC-SHA256(secret, tokenMACLabel || kid || expiry || id) cut to 96 bits.
const (
	// MaxNotificationIDLen is the longest notification id a token can carry:
	// 64 (an email local part) minus the 28-character tail. A canonical UUID
	// (36) fits; Mint refuses anything longer.
	MaxNotificationIDLen = 36
	// MaxTokenLen is the longest token, the local-part limit of RFC 5321.
	MaxTokenLen = 64
	// MinSecretLen is the shortest key secret Mint or Verify will use.
	MinSecretLen = 16
	// TokenLifetime is how long an emailed Reply-To token is accepted, and
	// so how long a rotated-out key keeps verifying. The page sender mints
	// with it and the cluster retires keys by it: one value for both.
	TokenLifetime = 7 * 24 * time.Hour

	tokenMACLen  = 12 // 96 bits
	tokenBodyLen = 1 + 4 + tokenMACLen
	tokenTailLen = (tokenBodyLen*8 + 4) / 5 // 28 base32 characters
)

// tokenMACLabel separates these MACs from anything else the same secret
// might ever be used for.
const tokenMACLabel = "pagerd/reply-to/v1\x00"

// tokenEncoding is lowercase base32 without padding: letters and 2-7 only,
// so it survives mail systems that fold local parts to lower (or upper) case.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token errors. Verify wraps one of them, so test with errors.Is. They are
// checked in this order: malformed, forged, key retired, expired; a token
// only reaches the later checks once its MAC is proven.
var (
	ErrTokenMalformed  = errors.New("reply token malformed")
	ErrTokenForged     = errors.New("reply token forged")
	ErrTokenExpired    = errors.New("reply token expired")
	ErrTokenKeyRetired = errors.New("reply token key retired")
)

// Mint errors.
var (
	ErrNotificationID = errors.New("notification id unusable in a reply token")
	ErrNoSigningKey   = errors.New("no current reply-token key")
	ErrTokenExpiry    = errors.New("reply token expiry out of range")
)

// Key is one reply-token secret from replicated state.
type Key struct {
	ID     uint8  // carried in the token to pick the key on Verify
	Secret []byte // at least MinSecretLen random bytes
	// NotAfter retires the key: tokens it signed stop being accepted after
	// this instant. Zero means current (usable for minting, no end).
	NotAfter time.Time
}

// Keyring is the set of reply-token keys. Mint signs with the newest
// current key: the last one in Keys whose NotAfter is zero. Rotation is:
// append a new key, and set NotAfter on the old one to the time its last
// tokens may still matter (e.g. now + the longest token lifetime).
type Keyring struct {
	Keys []Key
}

// Validate reports a keyring Mint and Verify cannot work with safely:
// duplicate ids, short secrets, or no current key.
func (k Keyring) Validate() error {
	seen := map[uint8]bool{}
	for _, key := range k.Keys {
		if seen[key.ID] {
			return fmt.Errorf("reply-token keyring: duplicate key id %d", key.ID)
		}
		seen[key.ID] = true
		if len(key.Secret) < MinSecretLen {
			return fmt.Errorf("reply-token keyring: key %d secret shorter than %d bytes", key.ID, MinSecretLen)
		}
	}
	if _, ok := k.signingKey(); !ok {
		return ErrNoSigningKey
	}
	return nil
}

func (k Keyring) signingKey() (Key, bool) {
	for i := len(k.Keys) - 1; i >= 0; i-- {
		if k.Keys[i].NotAfter.IsZero() {
			return k.Keys[i], true
		}
	}
	return Key{}, false
}

// lookup returns the first key with id; Validate rules out duplicates.
func (k Keyring) lookup(id uint8) (Key, bool) {
	for _, key := range k.Keys {
		if key.ID == id {
			return key, true
		}
	}
	return Key{}, false
}

// Mint returns the token for notificationID, valid until expires (to the
// second, exclusive), signed with the newest current key. The result is at
// most MaxTokenLen characters of [a-z0-9-], ready to be a local part.
func (k Keyring) Mint(notificationID string, expires time.Time) (string, error) {
	if err := checkNotificationID(notificationID); err != nil {
		return "", err
	}
	exp := expires.Unix()
	if exp <= 0 || exp > math.MaxUint32 {
		return "", fmt.Errorf("%w: %s", ErrTokenExpiry, expires.UTC().Format(time.RFC3339))
	}
	key, ok := k.signingKey()
	if !ok {
		return "", ErrNoSigningKey
	}
	if len(key.Secret) < MinSecretLen {
		return "", fmt.Errorf("%w: key %d secret shorter than %d bytes", ErrNoSigningKey, key.ID, MinSecretLen)
	}
	body := make([]byte, tokenBodyLen)
	body[0] = key.ID
	binary.BigEndian.PutUint32(body[1:5], uint32(exp))
	copy(body[5:], tokenMAC(key.Secret, body[:5], notificationID))
	return notificationID + tokenEncoding.EncodeToString(body), nil
}

// Verify checks token at time now and returns the notification id it was
// minted for. It accepts the token in any letter case. Errors wrap exactly
// one of ErrTokenMalformed, ErrTokenForged, ErrTokenKeyRetired and
// ErrTokenExpired. A key id not in the ring counts as forged: without the
// key the MAC cannot be proven. The caller dedupes replays (Message-ID and
// the lower-cased token); Verify only bounds them in time.
func (k Keyring) Verify(token string, now time.Time) (string, error) {
	id, body, err := splitToken(token)
	if err != nil {
		return "", err
	}
	key, ok := k.lookup(body[0])
	if !ok || len(key.Secret) < MinSecretLen {
		return "", fmt.Errorf("%w: unknown key %d", ErrTokenForged, body[0])
	}
	if !hmac.Equal(body[5:], tokenMAC(key.Secret, body[:5], id)) {
		return "", ErrTokenForged
	}
	if !key.NotAfter.IsZero() && now.After(key.NotAfter) {
		return "", fmt.Errorf("%w: key %d retired at %s", ErrTokenKeyRetired, key.ID,
			key.NotAfter.UTC().Format(time.RFC3339))
	}
	expires := time.Unix(int64(binary.BigEndian.Uint32(body[1:5])), 0)
	if !now.Before(expires) {
		return "", fmt.Errorf("%w at %s", ErrTokenExpired, expires.UTC().Format(time.RFC3339))
	}
	return id, nil
}

// splitToken lower-cases token and splits it into the id and the decoded
// kid||expiry||mac body, refusing anything that is not exactly what Mint
// produces (including non-canonical base32 with stray trailing bits, so
// one token has one spelling up to case).
func splitToken(token string) (string, []byte, error) {
	if len(token) <= tokenTailLen || len(token) > MaxTokenLen {
		return "", nil, fmt.Errorf("%w: length %d", ErrTokenMalformed, len(token))
	}
	lower := ASCIILower(token)
	cut := len(lower) - tokenTailLen
	id, tail := lower[:cut], lower[cut:]
	if err := checkNotificationID(id); err != nil {
		return "", nil, fmt.Errorf("%w: bad id part", ErrTokenMalformed)
	}
	body, err := tokenEncoding.DecodeString(tail)
	if err != nil || len(body) != tokenBodyLen || tokenEncoding.EncodeToString(body) != tail {
		return "", nil, fmt.Errorf("%w: bad tail", ErrTokenMalformed)
	}
	return id, body, nil
}

func tokenMAC(secret, kidExp []byte, id string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tokenMACLabel)) // hash.Hash.Write never fails
	m.Write(kidExp)
	m.Write([]byte(id))
	return m.Sum(nil)[:tokenMACLen]
}

// checkNotificationID enforces the id alphabet [a-z0-9-] and length. Upper
// case is refused rather than folded, because Verify (which must fold, as
// mail systems may change case) would then return a different id.
func checkNotificationID(id string) error {
	if id == "" || len(id) > MaxNotificationIDLen {
		return fmt.Errorf("%w: %d bytes, want 1..%d", ErrNotificationID, len(id), MaxNotificationIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: byte %q at %d not in [a-z0-9-]", ErrNotificationID, c, i)
		}
	}
	return nil
}

// ASCIILower folds A-Z only; other bytes pass through and are then refused
// by the alphabet checks. (strings.ToLower would map some non-ASCII runes
// to ASCII, e.g. the Kelvin sign to 'k', widening what verifies.) The
// inbound mail server uses it too, so a token's dedupe key is the one
// spelling Verify accepts.
func ASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
