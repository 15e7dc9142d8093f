package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pagerd/pagerd/config"
)

// runMaintenance manages maintenance windows: start SERVICE[,SERVICE]
// --for 1h [--reason TEXT] [--allow sev1], list [--service S], end ID.
func runMaintenance(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want start, list or end (pagerd maintenance start checkout --for 1h --reason \"db upgrade\")")
	}
	switch args[0] {
	case "start":
		return maintenanceStart(args[1:], stdout)
	case "list":
		return maintenanceList(args[1:], stdout)
	case "end":
		return maintenanceEnd(args[1:], stdout)
	}
	return usagef("unknown maintenance command %q (want start, list or end)", args[0])
}

func maintenanceStart(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("maintenance start", flag.ContinueOnError)
	c := clientFlags(fs)
	dur := fs.String("for", "", "how long (e.g. 1h)")
	reason := fs.String("reason", "", "why, shown with the window")
	allow := fs.String("allow", "", "severities that still page, comma-separated (e.g. sev1)")
	as := fs.String("as", "", "started by (default: the API token's name)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dur == "" {
		return usagef("want a service and --for (pagerd maintenance start checkout --for 1h)")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	body := map[string]any{"services": strings.Split(pos[0], ","), "for": *dur, "reason": *reason, "by": *as}
	if *allow != "" {
		body["allow"] = strings.Split(*allow, ",")
	}
	var w config.MaintenanceWindow
	raw, err := c.postJSON("/v1/maintenance", body, &w)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { printWindow(stdout, w) })
	return nil
}

func maintenanceList(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("maintenance list", flag.ContinueOnError)
	c := clientFlags(fs)
	svc := fs.String("service", "", "only windows on this service")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	q := url.Values{}
	if *svc != "" {
		q.Set("service", *svc)
	}
	var out struct {
		Maintenance []config.MaintenanceWindow `json:"maintenance"`
	}
	raw, err := c.getJSON("/v1/maintenance", q, &out)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		if len(out.Maintenance) == 0 {
			fmt.Fprintln(stdout, "no maintenance windows now or in the next 7 days")
		}
		for _, w := range out.Maintenance {
			printWindow(stdout, w)
		}
	})
	return nil
}

func maintenanceEnd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("maintenance end", flag.ContinueOnError)
	c := clientFlags(fs)
	pos, err := c.parseArgs(fs, args, 1, "want a window id (pagerd maintenance end mw1)")
	if err != nil {
		return err
	}
	raw, err := c.do(http.MethodDelete, "/v1/maintenance/"+url.PathEscape(pos[0]), nil, nil, "")
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "maintenance window %s ended\n", pos[0]) })
	return nil
}

func printWindow(w io.Writer, m config.MaintenanceWindow) {
	line := fmt.Sprintf("%s %s %s..%s %s", m.ID, m.Source, m.From.UTC().Format("2006-01-02 15:04"), m.To.UTC().Format("2006-01-02 15:04 UTC"), strings.Join(m.Services, ","))
	if len(m.Allow) > 0 {
		line += " allow=" + strings.Join(m.Allow, ",")
	}
	if m.Reason != "" {
		line += " (" + m.Reason + ")"
	}
	fmt.Fprintln(w, line)
}
