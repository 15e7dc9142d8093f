package reply

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type twilioVector struct {
	URL               string            `json:"url"`
	AuthToken         string            `json:"auth_token"`
	Params            map[string]string `json:"params"`
	ExpectedSignature string            `json:"expected_signature"`
}

func loadTwilioVector(t *testing.T) (twilioVector, url.Values) {
	t.Helper()
	// A copy of the shared captured fixture (testdata/twilio/README.md).
	raw, err := os.ReadFile(filepath.Join("testdata", "twilio", "signature-vector.json"))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var v twilioVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	form := url.Values{}
	for k, val := range v.Params {
		form.Set(k, val)
	}
	return v, form
}

func TestTwilioFixtureVector(t *testing.T) {
	v, form := loadTwilioVector(t)
	if got := TwilioSignature(v.AuthToken, v.URL, form); got != v.ExpectedSignature {
		t.Fatalf("TwilioSignature = %q, want %q", got, v.ExpectedSignature)
	}
	if !VerifyTwilioSignature(v.AuthToken, v.URL, form, v.ExpectedSignature) {
		t.Fatal("fixture vector does not verify")
	}
}

// Vectors from twilio-go's request validator tests (same URL and token,
// different caller number): one signed without a port and one signed with
// the default :443, both valid for the port-less URL.
func TestTwilioLibraryVectors(t *testing.T) {
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	for _, sig := range []string{"RSOYDt4T1cUTdK1PDd93/VVr8B8=", "kvajT1Ptam85bY51eRf/AJRuM3w="} {
		if !VerifyTwilioSignature("12345", u, form, sig) {
			t.Errorf("signature %s does not verify", sig)
		}
	}
}

func TestTwilioSingleCharacterMutationsFail(t *testing.T) {
	v, form := loadTwilioVector(t)
	mutations := func(s string) []string {
		var out []string
		for i := 0; i < len(s); i++ {
			for _, c := range []byte("aA0/+=:.?&-_ z9Z") {
				if c != s[i] {
					out = append(out, s[:i]+string(c)+s[i+1:])
				}
			}
			out = append(out, s[:i]+s[i+1:]) // deletion
		}
		out = append(out, s+"x", "x"+s) // insertion at the ends
		return out
	}
	for _, m := range mutations(v.URL) {
		if VerifyTwilioSignature(v.AuthToken, m, form, v.ExpectedSignature) {
			t.Errorf("mutated URL %q verifies", m)
		}
	}
	for _, m := range mutations(v.AuthToken) {
		if VerifyTwilioSignature(m, v.URL, form, v.ExpectedSignature) {
			t.Errorf("mutated token %q verifies", m)
		}
	}
	for _, m := range mutations(v.ExpectedSignature) {
		if VerifyTwilioSignature(v.AuthToken, v.URL, form, m) {
			t.Errorf("mutated signature %q verifies", m)
		}
	}
	for name := range form {
		for _, m := range mutations(form.Get(name)) {
			f := cloneValues(form)
			f.Set(name, m)
			if VerifyTwilioSignature(v.AuthToken, v.URL, f, v.ExpectedSignature) {
				t.Errorf("mutated %s=%q verifies", name, m)
			}
		}
		for _, m := range mutations(name) {
			f := cloneValues(form)
			f.Del(name)
			f[m] = form[name]
			if VerifyTwilioSignature(v.AuthToken, v.URL, f, v.ExpectedSignature) {
				t.Errorf("renamed param %q verifies", m)
			}
		}
	}
	// Dropping or adding a parameter fails too.
	for name := range form {
		f := cloneValues(form)
		f.Del(name)
		if VerifyTwilioSignature(v.AuthToken, v.URL, f, v.ExpectedSignature) {
			t.Errorf("without %s verifies", name)
		}
	}
	f := cloneValues(form)
	f.Set("Body", "")
	if VerifyTwilioSignature(v.AuthToken, v.URL, f, v.ExpectedSignature) {
		t.Error("extra empty parameter verifies")
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestTwilioPortVariants(t *testing.T) {
	form := url.Values{"Body": {"3a"}, "From": {"+15551234567"}}
	const tok = "secret-token"
	cases := []struct {
		signedAs, verifyAt string
		ok                 bool
	}{
		{"https://pager.example.com/v1/sms/twilio", "https://pager.example.com:443/v1/sms/twilio", true},
		{"https://pager.example.com:443/v1/sms/twilio", "https://pager.example.com/v1/sms/twilio", true},
		{"http://pager.example.com/v1/sms/twilio", "http://pager.example.com:80/v1/sms/twilio", true},
		{"http://pager.example.com:80/v1/sms/twilio", "http://pager.example.com/v1/sms/twilio", true},
		{"https://pager.example.com:8443/v1/sms/twilio", "https://pager.example.com:8443/v1/sms/twilio", true},
		{"https://pager.example.com/v1/sms/twilio?x=1", "https://pager.example.com:443/v1/sms/twilio?x=1", true},
		{"https://u:p@pager.example.com:443/x", "https://u:p@pager.example.com/x", true},
		{"https://[2001:db8::1]/x", "https://[2001:db8::1]:443/x", true},
		{"https://[2001:db8::1]:443/x", "https://[2001:db8::1]/x", true},
		{"https://pager.example.com", "https://pager.example.com:443", true},
		// The wrong default, or a non-default port, is never toggled.
		{"https://pager.example.com:80/v1/sms/twilio", "https://pager.example.com/v1/sms/twilio", false},
		{"http://pager.example.com:443/v1/sms/twilio", "http://pager.example.com/v1/sms/twilio", false},
		{"https://pager.example.com/v1/sms/twilio", "https://pager.example.com:8443/v1/sms/twilio", false},
		{"https://pager.example.com:8443/v1/sms/twilio", "https://pager.example.com/v1/sms/twilio", false},
		{"https://pager.example.com/v1/sms/twilio", "http://pager.example.com/v1/sms/twilio", false},
		{"https://pager.example.com/v1/sms/twilio", "https://pager.example.com/v1/sms/twilio/", false},
	}
	for _, c := range cases {
		sig := TwilioSignature(tok, c.signedAs, form)
		if got := VerifyTwilioSignature(tok, c.verifyAt, form, sig); got != c.ok {
			t.Errorf("signed %s, verified at %s: got %v want %v", c.signedAs, c.verifyAt, got, c.ok)
		}
	}
}

func TestTwilioRepeatedParamsSortedValues(t *testing.T) {
	const u, tok = "https://h/x", "t"
	form := url.Values{"MediaUrl": {"b", "a"}, "A": {"1"}}
	// Expected string built by hand: names sorted, then values sorted.
	want := twilioSign(tok, u+"A1"+"MediaUrla"+"MediaUrlb")
	if got := TwilioSignature(tok, u, form); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	// Order of arrival does not matter.
	form2 := url.Values{"MediaUrl": {"a", "b"}, "A": {"1"}}
	if !VerifyTwilioSignature(tok, u, form2, want) {
		t.Fatal("value order changed the result")
	}
	// The caller's slice is not reordered.
	if form["MediaUrl"][0] != "b" {
		t.Fatal("form mutated")
	}
}

func TestTwilioRejectsEmpty(t *testing.T) {
	form := url.Values{"a": {"b"}}
	if VerifyTwilioSignature("", "https://h/", form, twilioSign("", "https://h/ab")) {
		t.Error("empty auth token verified")
	}
	if VerifyTwilioSignature("tok", "https://h/", form, "") {
		t.Error("empty signature verified")
	}
}

func TestTwilioURLVariantsOddInputs(t *testing.T) {
	cases := map[string][]string{
		"":                 {""},
		"nourl":            {"nourl"},
		"https://":         {"https://"},
		"https://h:":       {"https://h:"},
		"ftp://h/x":        {"ftp://h/x"},
		"https://[::1":     {"https://[::1"},
		"https://[::1]x/":  {"https://[::1]x/"},
		"HTTPS://H/x":      {"HTTPS://H/x", "HTTPS://H:443/x"},
		"http://h#f":       {"http://h#f", "http://h:80#f"},
		"https://h?q=a:80": {"https://h?q=a:80", "https://h:443?q=a:80"},
	}
	for in, want := range cases {
		got := twilioURLVariants(in)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func FuzzVerifyTwilioSignature(f *testing.F) {
	f.Add("https://pager.example.com/v1/sms/twilio", "Body", "3a", "sig")
	f.Add("https://[::1]:443/x?y=1#z", "From", "+1555", "")
	f.Add("http://u:p@h:80", "", "", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
	f.Fuzz(func(t *testing.T, u, name, value, sig string) {
		form := url.Values{name: {value}}
		variants := twilioURLVariants(u)
		if len(variants) == 0 || len(variants) > 2 || variants[0] != u {
			t.Fatalf("variants of %q: %q", u, variants)
		}
		// A variant's own signature verifies at the original URL, and a
		// random signature essentially never does.
		for _, v := range variants {
			if !VerifyTwilioSignature("tok", u, form, TwilioSignature("tok", v, form)) {
				t.Fatalf("variant %q of %q does not verify", v, u)
			}
		}
		if sig != TwilioSignature("tok", variants[len(variants)-1], form) &&
			sig != TwilioSignature("tok", u, form) && VerifyTwilioSignature("tok", u, form, sig) {
			t.Fatalf("arbitrary signature %q verified", sig)
		}
	})
}
