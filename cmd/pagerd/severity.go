package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/incident"
)

// runSeverity sets an incident's severity: pagerd severity INC-42 sev1
// [--note TEXT] [--as USER]. The person's severity stands over the alerts'
// until changed again; a deferred incident raised to a severity that pages
// at any time starts paging at once.
func runSeverity(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("severity", flag.ContinueOnError)
	c := clientFlags(fs)
	as := fs.String("as", "", "act as this user (default: the API token's name; another user needs an admin token)")
	note := fs.String("note", "", "why, for the timeline")
	pos, err := c.parseArgs(fs, args, 2, "want an incident ID and a severity (pagerd severity INC-42 sev1)")
	if err != nil {
		return err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	if incident.SeverityRank(pos[1]) >= len(incident.Severities) {
		return usagef("severity: unknown severity %q (use sev1, sev2 or sev3)", pos[1])
	}
	var inc incident.Incident
	raw, err := c.postJSON(fmt.Sprintf("/v1/incidents/%d/severity", id),
		map[string]string{"severity": pos[1], "by": *as, "note": *note}, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s %s %s (%s)\n", inc.Key, inc.Severity, inc.Status, inc.Title)
		if inc.DeferredUntil != nil {
			fmt.Fprintf(stdout, "paging deferred until %s (business hours)\n", fmtTime(inc.DeferredUntil))
		}
	})
	return nil
}
