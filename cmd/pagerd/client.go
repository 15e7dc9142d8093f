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

// apiError is a non-2xx answer; it makes the command exit 1 with the message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

// do sends a request and returns the raw body of a 2xx answer.
func (c *client) do(method, path string, q url.Values, body io.Reader, contentType string) ([]byte, error) {
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
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		if resp.StatusCode == http.StatusUnauthorized {
			e.Error = c.tokenHint(e.Error)
		}
		return nil, &apiError{status: resp.StatusCode, msg: e.Error}
	}
	return data, nil
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

func (c *client) postJSON(path string, body, v any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	raw, err := c.do(http.MethodPost, path, nil, bytes.NewReader(b), "application/json")
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
