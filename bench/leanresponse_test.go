package bench

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func readLeanString(s string) (leanResponse, error) {
	return readLeanResponse(bufio.NewReaderSize(strings.NewReader(s), 4096), nil)
}

func TestLeanResponseFraming(t *testing.T) {
	cases := []struct {
		in, body string
		status   int
		close    bool
		retry    string
	}{
		{"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhelloEXTRA", "hello", 202, false, ""},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n", "hello!", 200, false, ""},
		{"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\nContent-Length: 3\r\n\r\n2 \r\nab\r\n0\r\n\r\n", "ab", 200, false, ""},
		{"HTTP/1.1 503 Service Unavailable\r\nRetry-After:  7 \r\nRetry-After: 9\r\nContent-Length: 2\r\nConnection: keep-alive, Close\r\n\r\n{}", "{}", 503, true, "7"},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", "", 204, false, ""},
		{"HTTP/1.0 200 OK\nContent-Length: 1\n\nx", "x", 200, true, ""},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx", "x", 200, false, ""},
		{"HTTP/1.1 200 OK\r\n\r\nto the end", "to the end", 200, true, ""},
		{"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "", 200, false, ""},
	}
	for _, c := range cases {
		r, err := readLeanString(c.in)
		if err != nil || r.Status != c.status || string(r.Body) != c.body || r.Close != c.close || r.RetryAfter != c.retry {
			t.Errorf("%q:\n got %d %q close=%v retry=%q err %v\nwant %d %q close=%v retry=%q", c.in, r.Status, r.Body, r.Close, r.RetryAfter, err, c.status, c.body, c.close, c.retry)
		}
	}
	for _, in := range []string{
		"",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",                   // short body
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", // conflicting lengths
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", // no CRLF after data
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", // bare LF
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n", // trailers
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\n Folded: yes\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", // no end of headers
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	} {
		if r, err := readLeanString(in); err == nil {
			t.Errorf("%q accepted: %+v", in, r)
		}
	}
}

// FuzzLeanResponseAgreesWithNetHTTP: the reader never panics on what a
// peer sends, and where net/http's http.ReadResponse (as the answer to a
// POST) also accepts the bytes, both read the same status, body,
// Retry-After and connection closing.
func FuzzLeanResponseAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"status\":\"success\"}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;e\r\n!\r\n0\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil EOF",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lean, leanErr := readLeanResponse(bufio.NewReaderSize(bytes.NewReader(data), 4096), nil)
		req, _ := http.NewRequest(http.MethodPost, "http://bench/", nil)
		resp, err := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(data), 4096), req)
		if err != nil || leanErr != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return
		}
		if lean.Status != resp.StatusCode || !bytes.Equal(lean.Body, body) ||
			lean.RetryAfter != resp.Header.Get("Retry-After") || lean.Close != resp.Close {
			t.Fatalf("%q:\nlean     %d %q retry %q close %v\nnet/http %d %q retry %q close %v", data,
				lean.Status, lean.Body, lean.RetryAfter, lean.Close, resp.StatusCode, body, resp.Header.Get("Retry-After"), resp.Close)
		}
	})
}
