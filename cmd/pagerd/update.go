package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/incident"
)

// runUpdate posts a status update: pagerd update INC-42 --phase identified
// [--public] [--template ID] [--component api=partial_outage] [--next 30m]
// [--as USER] MESSAGE. Without --as the update is the API token's, which may
// post public updates; with --as a person, a public one needs them to hold
// the incident manager or comms manager role.
func runUpdate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update", flag.ContinueOnError)
	c := clientFlags(fs)
	phase := fs.String("phase", "", "investigating | identified | monitoring | resolved (default: the incident's phase)")
	public := fs.Bool("public", false, "a public update (status pages, subscribers)")
	template := fs.String("template", "", "an update_templates id to render instead of MESSAGE")
	next := fs.String("next", "", "when the next update is due (default: the severity's update_every)")
	as := fs.String("as", "", "post as this user (default: the API token)")
	var comps componentFlags
	fs.Var(&comps, "component", "COMPONENT=STATUS, repeatable (e.g. api=partial_outage)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || (len(pos) < 2 && *template == "") {
		return usagef("want an incident ID and a message (pagerd update INC-42 --phase identified \"Bad deploy; rolling back\")")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	if *phase != "" && !incident.ValidPhase(*phase) {
		return usagef("--phase: unknown phase %q (use %s)", *phase, strings.Join(incident.Phases, ", "))
	}
	body := map[string]any{"phase": *phase, "message": strings.Join(pos[1:], " "), "template": *template,
		"next_update_in": *next, "by": *as, "audience": incident.AudienceInternal}
	if *public {
		body["audience"] = incident.AudiencePublic
	}
	if len(comps) > 0 {
		body["components"] = map[string]string(comps)
	}
	var inc incident.Incident
	raw, err := c.postJSON(fmt.Sprintf("/v1/incidents/%d/updates", id), body, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		if n := len(inc.Updates); n > 0 {
			u := inc.Updates[n-1]
			fmt.Fprintf(stdout, "%s %s update (%s) posted: %s\n", u.ID, u.Audience, u.Phase, u.Message)
		}
		if inc.NextUpdateAt != nil {
			fmt.Fprintf(stdout, "next update due %s\n", fmtTime(inc.NextUpdateAt))
		}
	})
	return nil
}

// componentFlags collects --component COMPONENT=STATUS.
type componentFlags map[string]string

func (c *componentFlags) String() string { return fmt.Sprint(map[string]string(*c)) }

func (c *componentFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("want COMPONENT=STATUS, got %q", s)
	}
	if *c == nil {
		*c = componentFlags{}
	}
	(*c)[k] = v
	return nil
}

// printUpdates is the status-update part of `pagerd incident`: the phase,
// when the next update is due, and each update, oldest first.
func printUpdates(w io.Writer, inc *incident.Incident) {
	if inc.Phase != "" {
		fmt.Fprintf(w, "phase:     %s\n", inc.Phase)
	}
	if inc.NextUpdateAt != nil && inc.Status.Open() {
		fmt.Fprintf(w, "next update due %s\n", fmtTime(inc.NextUpdateAt))
	}
	for _, u := range inc.Updates {
		fmt.Fprintf(w, "update %s %s %s (%s) by %s: %s\n", u.ID, fmtTime(&u.At), u.Audience, u.Phase, u.By, u.Message)
	}
}
