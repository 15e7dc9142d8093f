package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// Service continuity (spec §5.7):
//
//	pagerd services
//	pagerd heartbeats
//	pagerd drill run ID
//	pagerd drill runs ID

type cliDrillRun struct {
	ID                   string     `json:"id"`
	Status               string     `json:"status"`
	Reason               string     `json:"reason"`
	Incident             string     `json:"incident"`
	StartedAt            time.Time  `json:"started_at"`
	AckedBy              string     `json:"acked_by"`
	AckChannel           string     `json:"ack_channel"`
	TimeToAckSeconds     *float64   `json:"time_to_ack_seconds"`
	TimeToResolveSeconds *float64   `json:"time_to_resolve_seconds"`
	StepReached          int        `json:"step_reached"`
	ResolvedAt           *time.Time `json:"resolved_at"`
}

type cliService struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Criticality string `json:"criticality"`
	RTO         string `json:"rto"`
	RPO         string `json:"rpo"`
	Owner       string `json:"owner"`
	Manager     string `json:"continuity_manager"`
	Runbook     string `json:"runbook"`
	Continuity  struct {
		LastDrill     *cliDrillRun   `json:"last_drill"`
		Heartbeats    []cliHeartbeat `json:"heartbeats"`
		ReviewDueAt   *time.Time     `json:"review_due_at"`
		ReviewOverdue bool           `json:"review_overdue"`
	} `json:"continuity"`
}

type cliHeartbeat struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	State      string     `json:"state"`
	LastPingAt *time.Time `json:"last_ping_at"`
	DueAt      *time.Time `json:"due_at"`
	Incident   string     `json:"incident"`
}

func runServices(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("services", flag.ContinueOnError)
	c := clientFlags(fs)
	_, err := c.parseArgs(fs, args, 0, "services takes no arguments")
	if err != nil {
		return err
	}
	var list struct {
		Services []cliService `json:"services"`
	}
	raw, err := c.getJSON("/v1/services", nil, &list)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIER\tRTO\tRPO\tOWNER\tMANAGER\tREVIEW DUE\tLAST DRILL\tHEARTBEATS")
		for _, s := range list.Services {
			drill := "-"
			if d := s.Continuity.LastDrill; d != nil {
				drill = d.Status + " " + d.StartedAt.UTC().Format("2006-01-02")
			}
			var hbs []string
			for _, h := range s.Continuity.Heartbeats {
				hbs = append(hbs, h.ID+":"+h.State)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.Criticality), dash(s.RTO), dash(s.RPO),
				dash(s.Owner), dash(s.Manager), reviewDue(s), drill, dash(strings.Join(hbs, " ")))
		}
		tw.Flush()
	})
	return nil
}

// reviewDue is the plan review due date (UTC day) from the service's
// runtime continuity state, marked OVERDUE once passed; "-" without
// review_every.
func reviewDue(s cliService) string {
	d := s.Continuity.ReviewDueAt
	if d == nil {
		return "-"
	}
	out := d.UTC().Format("2006-01-02")
	if s.Continuity.ReviewOverdue {
		out += " OVERDUE"
	}
	return out
}

func runHeartbeats(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("heartbeats", flag.ContinueOnError)
	c := clientFlags(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	var list struct {
		Heartbeats []cliHeartbeat `json:"heartbeats"`
	}
	raw, err := c.getJSON("/v1/heartbeats", nil, &list)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSERVICE\tSTATE\tLAST PING\tDUE\tINCIDENT")
		for _, h := range list.Heartbeats {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Service, h.State, optTime(h.LastPingAt), optTime(h.DueAt), dash(h.Incident))
		}
		tw.Flush()
	})
	return nil
}

func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func runDrill(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "runs") {
		return usagef("want: drill run ID | drill runs ID")
	}
	sub := args[0]
	fs := flag.NewFlagSet("drill "+sub, flag.ContinueOnError)
	c := clientFlags(fs)
	pos, err := c.parseArgs(fs, args[1:], 1, "drill %s: want a drill ID", sub)
	if err != nil {
		return err
	}
	path := "/v1/drills/" + url.PathEscape(pos[0])
	if sub == "run" {
		var r cliDrillRun
		raw, err := c.postJSON(path+"/run", map[string]string{}, &r)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() { fmt.Fprintln(stdout, drillLine(r)) })
		return nil
	}
	var list struct {
		Runs []cliDrillRun `json:"runs"`
	}
	raw, err := c.getJSON(path+"/runs", nil, &list)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		if len(list.Runs) == 0 {
			fmt.Fprintln(stdout, "no runs")
		}
		for _, r := range list.Runs {
			fmt.Fprintln(stdout, drillLine(r))
		}
	})
	return nil
}

func drillLine(r cliDrillRun) string {
	s := fmt.Sprintf("%s  %s", r.ID, r.Status)
	if r.Incident != "" {
		s += "  " + r.Incident
	}
	if r.TimeToAckSeconds != nil {
		s += fmt.Sprintf("  acked by %s via %s after %.0fs", r.AckedBy, r.AckChannel, *r.TimeToAckSeconds)
	}
	if r.TimeToResolveSeconds != nil {
		s += fmt.Sprintf("  resolved after %.0fs", *r.TimeToResolveSeconds)
	}
	if r.StepReached > 0 {
		s += fmt.Sprintf("  step %d", r.StepReached)
	}
	if r.Reason != "" {
		s += "  (" + r.Reason + ")"
	}
	return s
}
