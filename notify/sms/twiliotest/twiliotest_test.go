package twiliotest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "tok"
)

func post(t *testing.T, s *Server, path string, form url.Values, user, pass string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp, body
}

func TestCreateMessageResource(t *testing.T) {
	s := NewServer(sid, token)
	defer s.Close()
	s.Now = func() time.Time { return time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) }
	path := "/2010-04-01/Accounts/" + sid + "/Messages.json"
	resp, body := post(t, s, path, url.Values{"To": {"+31612345001"}, "From": {"+15550000000"}, "Body": {strings.Repeat("x", 200)}}, sid, token)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d %v", resp.StatusCode, body)
	}
	msgSID, _ := body["sid"].(string)
	if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(msgSID) {
		t.Fatalf("sid %q", msgSID)
	}
	want := map[string]any{
		"status": "queued", "to": "+31612345001", "from": "+15550000000", "account_sid": sid,
		"num_segments": "2", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": "Wed, 25 Nov 2026 18:00:00 +0000",
		"uri":          "/2010-04-01/Accounts/" + sid + "/Messages/" + msgSID + ".json",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %#v, want %#v", k, body[k], v)
		}
	}
	for _, k := range []string{"price", "error_code", "error_message", "date_sent"} {
		if v, ok := body[k]; !ok || v != nil {
			t.Errorf("%s = %#v, want null", k, v)
		}
	}
}

func TestErrors(t *testing.T) {
	s := NewServer(sid, token)
	defer s.Close()
	path := "/2010-04-01/Accounts/" + sid + "/Messages.json"
	ok := url.Values{"To": {"+31612345001"}, "From": {"+15550000000"}, "Body": {"hi"}}
	cases := []struct {
		name       string
		path       string
		form       url.Values
		user, pass string
		status     int
		code       float64
	}{
		{"wrong token", path, ok, sid, "nope", 401, 20003},
		{"no auth", path, ok, "", "", 401, 20003},
		{"other account", "/2010-04-01/Accounts/ACother/Messages.json", ok, sid, token, 404, 20404},
		{"bad path", "/2010-04-01/Messages.json", ok, sid, token, 404, 20404},
		{"not E.164", path, url.Values{"To": {"06 1234 5001"}, "From": {"+1555"}, "Body": {"hi"}}, sid, token, 400, 21211},
		{"no body", path, url.Values{"To": {"+31612345001"}, "From": {"+1555"}}, sid, token, 400, 21602},
	}
	for _, c := range cases {
		resp, body := post(t, s, c.path, c.form, c.user, c.pass)
		if resp.StatusCode != c.status || body["code"] != c.code || body["status"] != float64(c.status) || body["message"] == "" {
			t.Errorf("%s: %d %v", c.name, resp.StatusCode, body)
		}
	}
	if _, body := post(t, s, path, url.Values{"To": {"12345"}, "From": {"+1555"}, "Body": {"hi"}}, sid, token); body["message"] != "The 'To' number 12345 is not a valid phone number." {
		t.Errorf("21211 message %v", body["message"])
	}
}

func TestScript(t *testing.T) {
	s := NewServer(sid, token)
	defer s.Close()
	path := "/2010-04-01/Accounts/" + sid + "/Messages.json"
	ok := url.Values{"To": {"+31612345001"}, "From": {"+15550000000"}, "Body": {"hi"}}
	s.FailNext(2, RateLimited(5*time.Second))
	s.FailNext(1, ServerError())
	s.FailNext(1, Unsubscribed())
	// A request failing auth does not consume the script.
	if resp, _ := post(t, s, path, ok, sid, "bad"); resp.StatusCode != 401 {
		t.Fatalf("auth: %d", resp.StatusCode)
	}
	for i, want := range []int{429, 429, 500, 400, 201} {
		resp, body := post(t, s, path, ok, sid, token)
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, body)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "5" {
			t.Errorf("429 Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if want == 400 && body["code"] != float64(21610) {
			t.Errorf("400 body %v", body)
		}
	}
	if n, m := len(s.Requests()), len(s.Messages()); n != 6 || m != 1 {
		t.Fatalf("requests %d, messages %d", n, m)
	}
}
