package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/incident"
)

func runIncidents(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "export" {
		return runExport(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("incidents", flag.ContinueOnError)
	c := clientFlags(fs)
	status := fs.String("status", "open", "open | triggered | acknowledged | resolved | all")
	service := fs.String("service", "", "only this service")
	limit := fs.Int("limit", 100, "at most this many (1-1000)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	if _, ok := api.StatusFilters[*status]; !ok {
		return usagef("--status must be open, triggered, acknowledged, resolved or all (got %q)", *status)
	}
	q := url.Values{"status": {*status}, "limit": {fmt.Sprint(*limit)}}
	if *service != "" {
		q.Set("service", *service)
	}
	var page struct {
		Incidents []incident.Incident `json:"incidents"`
		Next      string              `json:"next"`
	}
	raw, err := c.getJSON("/v1/incidents", q, &page)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tSTATUS\tSEV\tSERVICE\tALERTS\tCREATED\tTITLE")
		for _, inc := range page.Incidents {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", inc.Key, inc.Status, inc.Severity, inc.Service,
				inc.AlertCount, inc.CreatedAt.UTC().Format(time.RFC3339), inc.Title)
		}
		tw.Flush()
		if page.Next != "" {
			fmt.Fprintf(stdout, "(more: raise --limit or use the API with cursor=%s)\n", page.Next)
		}
	})
	return nil
}

func runIncident(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("incident", flag.ContinueOnError)
	c := clientFlags(fs)
	id, err := incidentArg(fs, c, args)
	if err != nil {
		return err
	}
	var inc incident.Incident
	raw, err := c.getJSON(fmt.Sprintf("/v1/incidents/%d", id), nil, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { printIncident(stdout, &inc) })
	return nil
}

func printIncident(w io.Writer, inc *incident.Incident) {
	fmt.Fprintf(w, "%s  %s  %s  %s\n", inc.Key, inc.Severity, inc.Status, inc.Title)
	fmt.Fprintf(w, "service:   %s\ndedup key: %s\ncreated:   %s\n", inc.Service, inc.DedupKey, fmtTime(&inc.CreatedAt))
	if inc.DetectedAt != nil {
		fmt.Fprintf(w, "detected:  %s\n", fmtTime(inc.DetectedAt))
	}
	if inc.ImpactStartedAt != nil {
		fmt.Fprintf(w, "impact:    %s\n", fmtTime(inc.ImpactStartedAt))
	}
	if inc.AcknowledgedAt != nil {
		fmt.Fprintf(w, "acked:     %s by %s\n", fmtTime(inc.AcknowledgedAt), inc.AcknowledgedBy)
	}
	if inc.ResolvedAt != nil {
		fmt.Fprintf(w, "resolved:  %s by %s\n", fmtTime(inc.ResolvedAt), inc.ResolvedBy)
	}
	if inc.SeveritySetBy != "" {
		fmt.Fprintf(w, "severity:  %s, set by %s\n", inc.Severity, inc.SeveritySetBy)
	}
	if len(inc.Roles) > 0 {
		fmt.Fprintf(w, "roles:     %s\n", formatRoles(inc.Roles))
	}
	if inc.DeferredUntil != nil {
		fmt.Fprintf(w, "deferred:  paging waits for business hours or maintenance until %s\n", fmtTime(inc.DeferredUntil))
	}
	printUpdates(w, inc)
	if e := inc.Escalation; e != nil {
		state := "next " + fmtTime(e.NextAt)
		if e.Exhausted {
			state = "exhausted"
		}
		// People count steps and loops from 1, as the timeline does; the
		// JSON fields (--output json) stay 0-based.
		fmt.Fprintf(w, "escalation: policy %s, step %d, loop %d, %s\n", e.Policy, e.Step+1, e.Loop+1, state)
	}
	fmt.Fprintf(w, "\nalerts (%d):\n", inc.AlertCount)
	for _, a := range inc.Alerts {
		fmt.Fprintf(w, "  %-8s %s %s\n", a.Status, a.Fingerprint, labelString(a.Labels))
	}
	if len(inc.Notifications) > 0 {
		fmt.Fprintln(w, "\nnotifications:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, n := range inc.Notifications {
			where := fmt.Sprintf("step %d loop %d", n.Step+1, n.Loop+1)
			if n.Kind != "" {
				where = strings.TrimSpace(n.Kind + " " + n.Role) // a role page, instructions, or the summary mail
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d attempts\t%s\t%s\n", n.ID, n.Status, n.User, n.Channel, n.To,
				where, n.Attempts, fmtTime(n.SentAt), n.Error)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range inc.Timeline {
		fmt.Fprintf(w, "  %s  %-15s %-28s %s\n", e.At.UTC().Format(time.RFC3339), e.Type, e.Actor, e.Message)
	}
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// actionCommand builds ack, resolve and escalate.
func actionCommand(action string) func([]string, io.Writer, io.Writer) error {
	return func(args []string, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet(action, flag.ContinueOnError)
		c := clientFlags(fs)
		as := fs.String("as", "", "act as this user (default: the API token's name; another user needs an admin token)")
		note := fs.String("note", "", "a note for the timeline")
		id, err := incidentArg(fs, c, args)
		if err != nil {
			return err
		}
		var inc incident.Incident
		raw, err := c.postJSON(fmt.Sprintf("/v1/incidents/%d/%s", id, action), map[string]string{"by": *as, "note": *note}, &inc)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "%s %s (%s)\n", inc.Key, inc.Status, inc.Title) })
		return nil
	}
}

// runNote adds a note to an incident's timeline: pagerd note INC-42 TEXT...
// (the words after the ID are joined, so quoting is optional).
func runNote(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("note", flag.ContinueOnError)
	c := clientFlags(fs)
	as := fs.String("as", "", "note as this user (default: the API token's name; another user needs an admin token)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("want an incident ID and the note's TEXT (pagerd note INC-42 rolled back the deploy)")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	text := strings.TrimSpace(strings.Join(pos[1:], " "))
	if text == "" {
		return usagef("the note's TEXT is empty")
	}
	var inc incident.Incident
	raw, err := c.postJSON(fmt.Sprintf("/v1/incidents/%d/notes", id), map[string]string{"by": *as, "note": text}, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "%s: note added\n", inc.Key) })
	return nil
}

// incidentArg parses the flags of a command that takes exactly one incident ID.
func incidentArg(fs *flag.FlagSet, c *client, args []string) (uint64, error) {
	pos, err := c.parseArgs(fs, args, 1, "want exactly one incident ID (42 or INC-42)")
	if err != nil {
		return 0, err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return 0, usagef("%v", err)
	}
	return id, nil
}
