package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// runSummary prints an incident's resolution summary (spec §5.7): the text
// mailed on resolve, or with --output json the API's JSON.
func runSummary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	c := clientFlags(fs)
	id, err := incidentArg(fs, c, args)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/v1/incidents/%d/summary", id)
	if c.output == "json" {
		var s incident.Summary
		raw, err := c.getJSON(path, nil, &s)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, nil)
		return nil
	}
	text, err := c.do("GET", path, url.Values{"format": {"text"}}, nil, "")
	if err != nil {
		return err
	}
	_, err = stdout.Write(text)
	return err
}

// runImpact records when customer impact began: pagerd impact INC-42
// --at 2026-11-29T14:05:00Z. The time is the person's; pagerd never guesses
// it, and refuses one in the future.
func runImpact(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("impact", flag.ContinueOnError)
	c := clientFlags(fs)
	at := fs.String("at", "", "when customer impact began, RFC 3339 (required)")
	as := fs.String("as", "", "act as this user (default: the API token's name)")
	note := fs.String("note", "", "a note for the timeline")
	id, err := incidentArg(fs, c, args)
	if err != nil {
		return err
	}
	if *at == "" {
		return usagef("--at is required: when customer impact began, RFC 3339 (e.g. 2026-11-29T14:05:00Z)")
	}
	if _, err := time.Parse(time.RFC3339, *at); err != nil {
		return usagef("--at: want an RFC 3339 time (e.g. 2026-11-29T14:05:00Z), got %q", *at)
	}
	var inc incident.Incident
	raw, err := c.postJSON(fmt.Sprintf("/v1/incidents/%d/impact", id),
		map[string]string{"started_at": *at, "by": *as, "note": *note}, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s: impact started at %s\n", inc.Key, fmtTime(inc.ImpactStartedAt))
	})
	return nil
}
