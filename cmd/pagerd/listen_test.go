package main

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestTriageAnswer(t *testing.T) {
	for _, c := range []struct {
		line     string
		complete bool
		status   int
		body     string
	}{
		{"GET /healthz HTTP/1.1\r\n", true, 200, `{"status":"ok"}` + "\n"},
		{"HEAD /healthz HTTP/1.1\r\n", true, 200, ""},
		{"GET /healthz HTTP/1.1", false, 503, ""},
		{"POST /v2/enqueue HTTP/1.1\r\n", true, 503, ""},
		{"GET /readyz HTTP/1.1\r\n", true, 503, ""},
		{"GET /healthz/x HTTP/1.1\r\n", true, 503, ""},
		{"", false, 503, ""},
	} {
		answer, healthy := triageAnswer(c.line, c.complete)
		method, _, _ := strings.Cut(c.line, " ")
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(answer)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%q: answer is not HTTP: %v", c.line, err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		if resp.StatusCode != c.status || healthy != (c.status == 200) || (c.body != "" && body.String() != c.body) {
			t.Errorf("%q: %d %q healthy=%v; want %d %q", c.line, resp.StatusCode, body.String(), healthy, c.status, c.body)
		}
		if c.status == 503 && (resp.Header.Get("Retry-After") != "1" || !strings.Contains(body.String(), `"error"`)) {
			t.Errorf("%q: 503 without Retry-After or {\"error\"}: %v %s", c.line, resp.Header, body.String())
		}
	}
}

// FuzzTriageAnswer: any request line gets one of the two well-formed
// answers, and only GET or HEAD /healthz the healthy one.
func FuzzTriageAnswer(f *testing.F) {
	f.Add("GET /healthz HTTP/1.1\r\n", true)
	f.Add("HEAD  /healthz\n", true)
	f.Add("\x00\xff", false)
	f.Fuzz(func(t *testing.T, line string, complete bool) {
		answer, healthy := triageAnswer(line, complete)
		if healthy {
			if !complete || !strings.Contains(line, "/healthz") {
				t.Fatalf("%q answered healthy", line)
			}
			return
		}
		if !bytes.Equal(answer, httpBusy) {
			t.Fatalf("%q: answer %q", line, answer)
		}
	})
}

// The incident export (GET /v1/incidents/export) streams the whole state
// like a snapshot download: it gets --http-snapshot-timeout, not the short
// write timeout; other routes keep the short one.
func TestExportGetsTheLongWriteTimeout(t *testing.T) {
	for _, c := range []struct {
		method, path string
		long         bool
	}{
		{"GET", "/v1/incidents/export", true},
		{"GET", "/v1/snapshot", true},
		{"PUT", "/v1/snapshot", true},
		{"POST", "/v1/incidents/export", false},
		{"GET", "/v1/incidents", false},
	} {
		r, _ := http.NewRequest(c.method, "http://x"+c.path, nil)
		if got := isLongRequest(r); got != c.long {
			t.Errorf("%s %s: long = %v, want %v", c.method, c.path, got, c.long)
		}
	}
}
