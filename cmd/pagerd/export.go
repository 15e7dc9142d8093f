package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runExport is `pagerd incidents export --from T [--to T]`: the incidents
// created in the window as JSON lines on stdout, for archiving before
// retention removes resolved ones. It streams what the node sends.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("incidents export", flag.ContinueOnError)
	c := clientFlags(fs)
	from := fs.String("from", "", "start of the window: RFC 3339 time or YYYY-MM-DD (UTC), inclusive (required)")
	to := fs.String("to", "", "end of the window, exclusive (default: no end)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (the export goes to stdout: redirect it to a file)", pos[0])
	}
	q := url.Values{}
	for name, v := range map[string]string{"from": *from, "to": *to} {
		if v == "" {
			continue
		}
		t, err := exportTime(v)
		if err != nil {
			return usagef("--%s: %v", name, err)
		}
		q.Set(name, t.Format(time.RFC3339Nano))
	}
	if q.Get("from") == "" {
		return usagef("--from is required (e.g. --from 2026-01-01)")
	}
	n, err := c.stream("/v1/incidents/export", q, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d incidents\n", n)
	return nil
}

// exportTime reads an RFC 3339 time or a UTC date.
func exportTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", s)
}

// stream GETs path and copies the JSON-lines answer to w line by line,
// returning how many lines it copied. No overall timeout: a long window
// takes as long as it takes, and the node streams it.
func (c *client) stream(path string, q url.Values, w io.Writer) (int, error) {
	req, err := c.request(http.MethodGet, path, q, nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return 0, c.answerError(resp.StatusCode, data)
	}
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	n := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				return n, fmt.Errorf("the export was cut off after %d incidents (last line incomplete)", n)
			}
			if _, werr := w.Write(line); werr != nil {
				return n, fmt.Errorf("write export: %w", werr)
			}
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read export after %d incidents: %w", n, err)
		}
	}
}
