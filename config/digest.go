package config

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Secret digests let `pagerd config plan` tell "secret unchanged" from
// "secret changed" against a live node without the node ever sending a
// secret. The node returns, per secret, PBKDF2-HMAC-SHA256 over the value with
// a random salt and DigestIterations rounds; the CLI derives the same from its
// own value and compares. The salt defeats precomputed tables and the rounds
// make guessing a weak secret from a leaked GET /v1/config answer expensive.
const (
	DigestIterations = 50_000
	digestPrefix     = "pbkdf2-sha256"
	digestLen        = 32
)

// DigestSecret returns "pbkdf2-sha256$ITER$SALT$HASH" (base64url, no padding).
func DigestSecret(salt []byte, value string) string {
	sum, err := pbkdf2.Key(sha256.New, value, salt, DigestIterations, digestLen)
	if err != nil { // only for an impossible key length
		return ""
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf("%s$%d$%s$%s", digestPrefix, DigestIterations, enc.EncodeToString(salt), enc.EncodeToString(sum))
}

// DigestMatches reports whether digest (from DigestSecret) was made from value.
// A malformed digest, or one asking for more than 10x the usual rounds (a
// hostile server making the CLI spin), matches nothing.
func DigestMatches(digest, value string) bool {
	parts := strings.Split(digest, "$")
	if len(parts) != 4 || parts[0] != digestPrefix {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10*DigestIterations {
		return false
	}
	salt, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	want, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) != digestLen {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, value, salt, iter, digestLen)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// Secrets returns every secret value of cfg under a name that is stable as
// long as the object holding it keeps its id: "api_tokens[admin].token",
// "integrations[events].key", "schedules[web].feed_tokens[ical].token",
// "channels.sms.auth_token", "channels.webhooks[chatops].url" and so on.
// Webhook URLs count: their paths often are the credential.
func Secrets(cfg *Config) map[string]string {
	out := map[string]string{}
	put := func(name, v string) {
		if v != "" {
			out[name] = v
		}
	}
	for _, t := range cfg.APITokens {
		put("api_tokens["+t.Name+"].token", t.Token)
	}
	for _, in := range cfg.Integrations {
		put("integrations["+in.Name+"].key", in.Key)
	}
	for _, s := range cfg.Schedules {
		for _, f := range s.FeedTokens {
			put("schedules["+s.ID+"].feed_tokens["+f.Name+"].token", f.Token)
		}
	}
	for _, h := range cfg.Heartbeats {
		put("heartbeats["+h.ID+"].key", h.Key)
	}
	put("channels.email.password", cfg.Channels.Email.Password)
	put("channels.sms.account_sid", cfg.Channels.SMS.AccountSID)
	put("channels.sms.auth_token", cfg.Channels.SMS.AuthToken)
	for _, w := range cfg.Channels.Webhooks {
		put("channels.webhooks["+w.ID+"].url", w.URL)
		put("channels.webhooks["+w.ID+"].secret", w.Secret)
	}
	return out
}

// WithoutSecrets returns a copy of v (a config object such as a User or an
// Integration, or a whole Config) with every secret field, and every webhook
// URL, set to "". Plans compare objects this way and secrets by digest.
func WithoutSecrets[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	blankSecrets(rv)
	return v
}

func blankSecrets(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			cp := reflect.New(v.Type().Elem())
			cp.Elem().Set(v.Elem())
			blankSecrets(cp.Elem())
			v.Set(cp)
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := 0; i < cp.Len(); i++ {
			blankSecrets(cp.Index(i))
		}
		v.Set(cp)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Tag.Get("secret") != "" && f.Type.Kind() == reflect.String {
				v.Field(i).SetString("")
				continue
			}
			blankSecrets(v.Field(i))
		}
	}
}
