package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

// cliReview is the part of a recorded review the CLI prints.
type cliReview struct {
	Service       string    `json:"service"`
	By            string    `json:"by"`
	Note          string    `json:"note"`
	At            time.Time `json:"at"`
	ConfigVersion string    `json:"config_version"`
}

// runReview records that a service's continuity plan was reviewed:
// pagerd review SERVICE [--note T] [--by U].
func runReview(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	c := clientFlags(fs)
	note := fs.String("note", "", "what the review found")
	by := fs.String("by", "", "who reviewed it (default: the token's name)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("review: want a service ID")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	var r cliReview
	body := map[string]string{"note": *note, "by": *by, "via": "cli"}
	raw, err := c.postJSON("/v1/services/"+url.PathEscape(pos[0])+"/reviews", body, &r)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s reviewed by %s at %s (config %s)\n", r.Service, r.By,
			r.At.UTC().Format(time.RFC3339), shortVersion(r.ConfigVersion))
	})
	return nil
}

func shortVersion(v string) string {
	if len(v) > 19 {
		return v[:19]
	}
	return v
}
