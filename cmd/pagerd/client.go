package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client talks to a running node's HTTP API.
type client struct {
	server, token, output string
	http                  *http.Client
}

// clientFlags registers the flags every client subcommand shares.
func clientFlags(fs *flag.FlagSet) *client {
	c := &client{http: &http.Client{Timeout: 60 * time.Second}}
	fs.StringVar(&c.server, "server", envOr("PAGERD_SERVER", "http://127.0.0.1:8080"), "node URL ($PAGERD_SERVER)")
	fs.StringVar(&c.token, "token", envOr("PAGERD_TOKEN", ""), "API token ($PAGERD_TOKEN)")
	fs.StringVar(&c.output, "output", "text", "text | json")
	return c
}

func (c *client) checkOutput() error {
	if c.output != "text" && c.output != "json" {
		return usagef("--output must be text or json (got %q)", c.output)
	}
	return nil
}

// parseArgs parses a client command's flags, wants exactly n arguments
// (the usage error format, a otherwise) and checks --output.
func (c *client) parseArgs(fs *flag.FlagSet, args []string, n int, format string, a ...any) ([]string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, usagef(format, a...)
	}
	if err := c.checkOutput(); err != nil {
		return nil, err
	}
	return pos, nil
}

// apiError is a non-2xx answer; it makes the command exit 1 with the message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

// do sends a request and returns the raw body of a 2xx answer.
func (c *client) do(method, path string, q url.Values, body io.Reader, contentType string) ([]byte, error) {
	req, err := c.request(method, path, q, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, c.answerError(resp.StatusCode, data)
	}
	return data, nil
}

// request builds a request to the node with the API token.
func (c *client) request(method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := strings.TrimRight(c.server, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, usagef("--server: %v", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// answerError is the error for a non-2xx answer: the node's {"error": ...}
// message (or the body as is), a 401 in the CLI's terms.
func (c *client) answerError(status int, data []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	if status == http.StatusUnauthorized {
		e.Error = c.tokenHint(e.Error)
	}
	return &apiError{status: status, msg: e.Error}
}

// tokenHint rewrites a 401 in the CLI's terms: the server's message speaks
// HTTP ("send Authorization: Bearer TOKEN"); a CLI user sets a flag.
func (c *client) tokenHint(serverMsg string) string {
	if c.token == "" {
		return "no API token: pass --token TOKEN or set PAGERD_TOKEN (an api_tokens entry of the config)"
	}
	return "the API token from --token or PAGERD_TOKEN was refused: " + serverMsg
}

// getJSON fetches path and decodes it into v; raw is the body as received.
func (c *client) getJSON(path string, q url.Values, v any) (raw []byte, err error) {
	raw, err = c.do(http.MethodGet, path, q, nil, "")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decode answer from %s: %w", path, err)
	}
	return raw, nil
}

// postJSON POSTs body as JSON and decodes the answer into v (unless nil).
func (c *client) postJSON(path string, body, v any) ([]byte, error) {
	return c.sendJSON(http.MethodPost, path, body, v)
}

// sendJSON sends body as JSON with method and decodes the answer into v
// (unless nil); raw is the answer as received.
func (c *client) sendJSON(method, path string, body, v any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	raw, err := c.do(method, path, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("decode answer from %s: %w", path, err)
		}
	}
	return raw, nil
}

// emit prints raw JSON for --output json, else runs the text printer.
func (c *client) emit(w io.Writer, raw []byte, text func()) {
	if c.output == "json" {
		w.Write(raw)
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			fmt.Fprintln(w)
		}
		return
	}
	text()
}
