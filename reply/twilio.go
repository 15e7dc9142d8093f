package reply

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio's signature scheme is HMAC-SHA1; we do not choose it.
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// VerifyTwilioSignature reports whether signature (the X-Twilio-Signature
// header) is Twilio's signature of a form-encoded webhook request.
//
// fullURL must be the URL exactly as Twilio was told to call it, query string
// included (for pagerd: public_url + "/v1/sms/twilio"), never one rebuilt from
// the request as seen behind a proxy. form holds the decoded POST parameters,
// all of them: Twilio adds new ones without notice and every one is signed.
//
// The signed string is fullURL followed by name+value of every parameter,
// names in byte order and, for a repeated name, its values in byte order
// (as twilio-python's RequestValidator does). The MAC is HMAC-SHA1 keyed by
// the auth token, base64 with padding.
//
// As Twilio's helper libraries do, the URL is also tried with the scheme's
// default port added when it has none, and without it when it carries the
// default one, because Twilio's signer is not consistent about that. A
// non-default port is never removed: it is part of what the operator
// configured. An empty auth token or signature never verifies.
func VerifyTwilioSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := twilioParamString(form)
	ok := 0
	// Every candidate is computed and compared so that the time taken does not
	// say which variant (if any) came close.
	for _, u := range twilioURLVariants(fullURL) {
		want := twilioSign(authToken, u+params)
		ok |= subtle.ConstantTimeCompare([]byte(want), []byte(signature))
	}
	return ok == 1
}

// TwilioSignature computes the X-Twilio-Signature value for fullURL and form
// exactly as given (no port variants). It exists for tests and for the dev
// tooling that simulates Twilio; servers verify with VerifyTwilioSignature.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	return twilioSign(authToken, fullURL+twilioParamString(form))
}

func twilioSign(authToken, data string) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(data)) // hash.Hash.Write never fails
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// twilioParamString concatenates name+value pairs in Twilio's order. Go's
// string ordering is byte order, which is the "Unix-style case-sensitive"
// ordering Twilio documents.
func twilioParamString(form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String()
}

// twilioURLVariants returns rawURL plus, for http and https, the same URL
// with the default port toggled. It edits the string rather than
// re-serialising a parsed url.URL, because re-serialising can change the
// escaping of the path or query, and the signature covers the exact bytes.
func twilioURLVariants(rawURL string) []string {
	out := []string{rawURL}
	schemeEnd := strings.Index(rawURL, "://")
	if schemeEnd < 0 {
		return out
	}
	var defaultPort string
	switch strings.ToLower(rawURL[:schemeEnd]) {
	case "https":
		defaultPort = "443"
	case "http":
		defaultPort = "80"
	default:
		return out
	}
	authStart := schemeEnd + len("://")
	authEnd := len(rawURL)
	if i := strings.IndexAny(rawURL[authStart:], "/?#"); i >= 0 {
		authEnd = authStart + i
	}
	authority := rawURL[authStart:authEnd]
	hostStart := strings.LastIndexByte(authority, '@') + 1 // skip userinfo
	host := authority[hostStart:]
	if host == "" {
		return out
	}
	hostOnly, port, hasPort, ok := splitHostPort(host)
	var newHost string
	switch {
	case !ok:
		return out
	case !hasPort:
		newHost = host + ":" + defaultPort
	case port == defaultPort:
		newHost = hostOnly
	default:
		return out
	}
	return append(out, rawURL[:authStart]+authority[:hostStart]+newHost+rawURL[authEnd:])
}

// splitHostPort splits "host:port" or "[v6]:port". hasPort is false when
// there is no port separator at all; "host:" yields hasPort with port "".
// ok is false for a malformed bracketed host, which gets no variants.
func splitHostPort(host string) (hostOnly, port string, hasPort, ok bool) {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		switch {
		case end < 0:
			return host, "", false, false
		case end == len(host)-1:
			return host, "", false, true
		case host[end+1] != ':':
			return host, "", false, false
		}
		return host[:end+1], host[end+2:], true, true
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return host, "", false, true
	}
	return host[:i], host[i+1:], true, true
}
