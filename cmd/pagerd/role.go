package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/incident"
)

// runRole takes or hands over a role: pagerd role INC-42 incident_manager
// bob [--note TEXT] [--as USER], or releases it: pagerd role INC-42
// incident_manager --release. A handover is one command: the role never has
// two holders.
func runRole(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("role", flag.ContinueOnError)
	c := clientFlags(fs)
	as := fs.String("as", "", "act as this user (default: the API token's name)")
	note := fs.String("note", "", "why, for the timeline")
	release := fs.Bool("release", false, "release the role instead of giving it to USER")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *release && len(pos) != 2:
		return usagef("want an incident ID and a role with --release (pagerd role INC-42 incident_manager --release)")
	case !*release && len(pos) != 3:
		return usagef("want an incident ID, a role and a user (pagerd role INC-42 incident_manager bob)")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	if strings.TrimSpace(pos[1]) == "" {
		return usagef("role: required")
	}
	body := map[string]string{"by": *as, "note": *note}
	method := http.MethodDelete
	if !*release {
		method, body["user"] = http.MethodPut, pos[2]
	}
	path := fmt.Sprintf("/v1/incidents/%d/roles/%s", id, url.PathEscape(pos[1]))
	var inc incident.Incident
	raw, err := c.sendJSON(method, path, body, &inc)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s %s %s (%s)\n", inc.Key, inc.Severity, inc.Status, inc.Title)
		fmt.Fprintf(stdout, "roles: %s\n", formatRoles(inc.Roles))
	})
	return nil
}

// formatRoles is "comms_manager=bob incident_manager=alice", or "none".
func formatRoles(roles map[string]string) string {
	if len(roles) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(roles))
	for r, u := range roles {
		parts = append(parts, r+"="+u)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
