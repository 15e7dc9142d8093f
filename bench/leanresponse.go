package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The lean client's HTTP/1.1 response reader. It reads what a server sends
// in answer to a POST into reused buffers, with net/http's framing rules
// (RFC 9112: Transfer-Encoding chunked over Content-Length, no body for 204
// and 304, a body up to EOF when neither is given) and refuses, with an
// error, what it does not handle rather than guessing: folded header lines,
// trailers, interim 1xx answers, protocol versions other than 1.0 and 1.1.
// Where it and http.ReadResponse both accept an answer they agree on the
// status, the body, Retry-After and whether the connection closes
// (FuzzLeanResponseAgreesWithNetHTTP).

// leanMaxBody bounds a response body: the bench's servers answer a few
// hundred bytes, so anything this large is a broken or hostile peer.
const leanMaxBody = 64 << 20

// leanResponse is one answer. Body aliases the buffer passed in (reused by
// the next request); RetryAfter is only copied out of the header when the
// answer has one.
type leanResponse struct {
	Status     int
	RetryAfter string
	Body       []byte
	Close      bool // the server closes the connection after this answer
}

// leanHead is what the reader keeps from the header section.
type leanHead struct {
	proto11       bool
	contentLength int64 // -1: none
	chunked       bool
	teSeen        int
	close         bool
	keepAlive     bool
	retryAfter    []byte
	retryAfterSet bool
}

var errLeanInterim = errors.New("lean client: interim 1xx response not supported")

// readLeanResponse reads one response from br into body[:0].
func readLeanResponse(br *bufio.Reader, body []byte) (leanResponse, error) {
	var r leanResponse
	line, err := readLeanLine(br)
	if err != nil {
		return r, err
	}
	h := leanHead{contentLength: -1}
	if r.Status, h.proto11, err = parseStatusLine(line); err != nil {
		return r, err
	}
	if err := readLeanHeaders(br, &h); err != nil {
		return r, err
	}
	if h.retryAfterSet {
		r.RetryAfter = string(h.retryAfter)
	}
	if h.proto11 {
		r.Close = h.close
	} else {
		r.Close = h.close || !h.keepAlive
	}
	if r.Status/100 == 1 {
		return r, errLeanInterim
	}
	r.Body = body[:0]
	switch {
	case r.Status == 204 || r.Status == 304:
	case h.chunked:
		r.Body, err = readChunkedBody(br, r.Body)
	case h.contentLength >= 0:
		r.Body, err = readSizedBody(br, r.Body, h.contentLength)
	default: // delimited by the end of the connection
		r.Close = true
		r.Body, err = readBodyToEOF(br, r.Body)
	}
	return r, err
}

// readLeanLine reads a line ending in LF (a CR before it is dropped), as
// net/textproto does; a line longer than br's buffer is refused.
func readLeanLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		} else if err == bufio.ErrBufferFull {
			err = errors.New("lean client: response line too long")
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatusLine reads "HTTP/1.x NNN[ reason]".
func parseStatusLine(line []byte) (status int, proto11 bool, err error) {
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
		proto11 = true
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
	default:
		return 0, false, fmt.Errorf("lean client: malformed status line %q", clip(line))
	}
	code := line[len("HTTP/1.1 "):]
	if len(code) < 3 || (len(code) > 3 && code[3] != ' ') {
		return 0, false, fmt.Errorf("lean client: malformed status code in %q", clip(line))
	}
	for _, c := range code[:3] {
		if c < '0' || c > '9' {
			return 0, false, fmt.Errorf("lean client: malformed status code in %q", clip(line))
		}
		status = status*10 + int(c-'0')
	}
	return status, proto11, nil
}

// readLeanHeaders reads header lines up to the blank line, keeping the
// framing headers, Connection and Retry-After.
func readLeanHeaders(br *bufio.Reader, h *leanHead) error {
	for {
		line, err := readLeanLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := splitHeaderLine(line)
		if err != nil {
			return err
		}
		if err := h.take(name, value); err != nil {
			return err
		}
	}
	if h.chunked && h.teSeen > 1 {
		return errors.New("lean client: more than one Transfer-Encoding")
	}
	return nil
}

// splitHeaderLine splits "Name: value" into a token name and the value
// without surrounding blanks, refusing what net/textproto refuses and folded
// (continuation) lines, which it does not read.
func splitHeaderLine(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, fmt.Errorf("lean client: malformed header line %q", clip(line))
	}
	name, value = line[:colon], line[colon+1:]
	for _, c := range name {
		if !isTokenByte(c) {
			return nil, nil, fmt.Errorf("lean client: malformed header name %q", clip(line))
		}
	}
	for _, c := range value {
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return nil, nil, fmt.Errorf("lean client: control byte in header %q", clip(line))
		}
	}
	return name, trimBlanks(value), nil
}

// take keeps what the reader needs of one header.
func (h *leanHead) take(name, value []byte) error {
	switch {
	case equalFoldASCII(name, "Content-Length"):
		n, err := parseContentLength(value)
		if err != nil {
			return err
		}
		if h.contentLength >= 0 && n != h.contentLength {
			return errors.New("lean client: conflicting Content-Length headers")
		}
		h.contentLength = n
	case equalFoldASCII(name, "Transfer-Encoding"):
		// HTTP/1.0 has no transfer codings; net/http ignores them there.
		if h.proto11 {
			if !equalFoldASCII(value, "chunked") {
				return fmt.Errorf("lean client: unsupported Transfer-Encoding %q", clip(value))
			}
			h.chunked = true
			h.teSeen++
		}
	case equalFoldASCII(name, "Connection"):
		h.close = h.close || hasToken(value, "close")
		h.keepAlive = h.keepAlive || hasToken(value, "keep-alive")
	case equalFoldASCII(name, "Retry-After"):
		if !h.retryAfterSet {
			h.retryAfter, h.retryAfterSet = value, true
		}
	}
	return nil
}

// parseContentLength reads a decimal length of at most 63 bits, as
// net/http does, and refuses one above leanMaxBody.
func parseContentLength(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, errors.New("lean client: empty Content-Length")
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("lean client: bad Content-Length %q", clip(v))
		}
		n = n*10 + int64(c-'0')
		if n > leanMaxBody {
			return 0, fmt.Errorf("lean client: Content-Length %q above %d", clip(v), leanMaxBody)
		}
	}
	return n, nil
}

// readSizedBody appends exactly n bytes, growing dst as they arrive (a
// length the peer announces but does not send costs no large buffer).
func readSizedBody(br *bufio.Reader, dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		k := int(min(n, 64<<10))
		dst = grow(dst, k)
		start := len(dst)
		dst = dst[:start+k]
		if _, err := io.ReadFull(br, dst[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst[:start], fmt.Errorf("lean client: body: %w", err)
		}
		n -= int64(k)
	}
	return dst, nil
}

// readChunkedBody appends the data of a chunked body: size lines in hex
// (an extension after ';' ignored), each chunk followed by CRLF, a zero-size
// chunk, then the final CRLF (trailers are refused).
func readChunkedBody(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		n, err := readChunkSize(br)
		if err != nil {
			return dst, err
		}
		if n == 0 {
			break
		}
		if n > leanMaxBody || int64(len(dst))+int64(n) > leanMaxBody {
			return dst, fmt.Errorf("lean client: chunked body above %d bytes", leanMaxBody)
		}
		if dst, err = readSizedBody(br, dst, int64(n)); err != nil {
			return dst, err
		}
		if err := expectCRLF(br, "after a chunk"); err != nil {
			return dst, err
		}
	}
	return dst, expectCRLF(br, "after the last chunk (trailers are not supported)")
}

// readChunkSize reads one chunk-size line, which must end in CRLF with no
// other CR (as net/http requires).
func readChunkSize(br *bufio.Reader) (uint64, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("lean client: chunk size: %w", err)
	}
	if cr := bytes.IndexByte(line, '\r'); len(line) < 2 || cr != len(line)-2 {
		return 0, fmt.Errorf("lean client: chunk size line %q not ended by CRLF", clip(line))
	}
	line = line[:len(line)-2]
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if semi := bytes.IndexByte(line, ';'); semi >= 0 {
		line = line[:semi]
	}
	if len(line) == 0 || len(line) > 16 {
		return 0, fmt.Errorf("lean client: bad chunk size %q", clip(line))
	}
	var n uint64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, fmt.Errorf("lean client: bad chunk size %q", clip(line))
		}
		n = n<<4 | uint64(c)
	}
	return n, nil
}

func expectCRLF(br *bufio.Reader, where string) error {
	b, err := br.Peek(2)
	if err != nil || b[0] != '\r' || b[1] != '\n' {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("lean client: no CRLF %s: %w", where, err)
	}
	br.Discard(2)
	return nil
}

// readBodyToEOF appends everything up to the end of the stream.
func readBodyToEOF(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		dst = grow(dst, 4096)
		n, err := br.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, fmt.Errorf("lean client: body: %w", err)
		}
		if len(dst) > leanMaxBody {
			return dst, fmt.Errorf("lean client: body above %d bytes", leanMaxBody)
		}
	}
}

// grow makes room for n more bytes after len(b), keeping its contents.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// hasToken reports whether the comma-separated list v holds token t
// (ASCII case-insensitive), as net/http reads Connection.
func hasToken(v []byte, t string) bool {
	for len(v) > 0 {
		var item []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, nil
		}
		if equalFoldASCII(trimBlanks(item), t) {
			return true
		}
	}
	return false
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isTokenByte: RFC 9110 tchar.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// clip shortens what an error quotes.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
