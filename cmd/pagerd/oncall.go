package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/schedule"
)

// timeFlagHelp is what --at, --from and --to accept (the server reads a
// wall-clock time in the schedule's zone).
const timeFlagHelp = `RFC 3339 (2026-11-30T09:00:00Z), or wall-clock time in the schedule's zone ("2026-11-30 10:00")`

func runOnCall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	c := clientFlags(fs)
	at := fs.String("at", "", timeFlagHelp+"; default now")
	utc := fs.Bool("utc", false, "show times in UTC instead of each schedule's zone")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("want at most one SCHEDULE")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	q := url.Values{}
	if *at != "" {
		if !looksLikeTime(*at) {
			return usagef("--at: want %s", timeFlagHelp)
		}
		q.Set("at", *at)
	}
	if len(pos) == 1 {
		var one struct {
			Schedule string    `json:"schedule"`
			At       time.Time `json:"at"`
			Timezone string    `json:"timezone"`
			Users    []string  `json:"users"`
		}
		raw, err := c.getJSON("/v1/schedules/"+url.PathEscape(pos[0])+"/oncall", q, &one)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "%s: %s\n", one.Schedule, usersOrNobody(one.Users)) })
		return nil
	}
	var all struct {
		At     time.Time         `json:"at"`
		OnCall []api.OnCallEntry `json:"oncall"`
	}
	raw, err := c.getJSON("/v1/oncall", q, &all)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCHEDULE\tKIND\tON CALL\tAT")
		for _, e := range all.OnCall {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Schedule, e.Kind, usersOrNobody(e.Users), showTime(e.At, e.Timezone, *utc))
		}
		tw.Flush()
	})
	return nil
}

func runShifts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shifts", flag.ContinueOnError)
	c := clientFlags(fs)
	from := fs.String("from", "", timeFlagHelp+"; default now")
	to := fs.String("to", "", timeFlagHelp+"; default two weeks after --from")
	utc := fs.Bool("utc", false, "show times in UTC (RFC 3339) instead of the schedule's zone")
	pos, err := c.parseArgs(fs, args, 1, "want exactly one SCHEDULE")
	if err != nil {
		return err
	}
	q := url.Values{}
	for name, v := range map[string]string{"from": *from, "to": *to} {
		if v == "" {
			continue
		}
		if !looksLikeTime(v) {
			return usagef("--%s: want %s", name, timeFlagHelp)
		}
		q.Set(name, v)
	}
	path := "/v1/schedules/" + url.PathEscape(pos[0])
	var shifts []schedule.Shift
	raw, err := c.getJSON(path+"/shifts", q, &shifts)
	if err != nil {
		return err
	}
	zone := "UTC"
	if !*utc && c.output == "text" {
		// The shifts answer is a bare array; the schedule's zone comes with
		// its on-call answer.
		var one struct {
			Timezone string `json:"timezone"`
		}
		if _, err := c.getJSON(path+"/oncall", nil, &one); err != nil {
			return err
		}
		zone = one.Timezone
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if *utc {
			fmt.Fprintln(tw, "USER\tSTART\tEND")
			for _, s := range shifts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.User, s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339))
			}
		} else {
			fmt.Fprintf(tw, "USER\tSTART (%s)\tEND\n", zone)
			for _, s := range shifts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.User, localTime(s.Start, zone), localTime(s.End, zone))
			}
		}
		tw.Flush()
	})
	return nil
}

// looksLikeTime is a local check of a time flag, so a typo is a usage error
// (exit 2) before any request; the server parses it for real, in the
// schedule's zone.
func looksLikeTime(v string) bool {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}

// localTime is t on the wall clock of zone: "2026-11-30 10:00 CET".
// The binary embeds the zone database (schedule imports time/tzdata), so
// every zone the server knows loads here too.
func localTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return t.UTC().Format(time.RFC3339)
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// showTime is t in zone with the zone's name, or RFC 3339 UTC with utc.
func showTime(t time.Time, zone string, utc bool) string {
	if utc || zone == "" || zone == "UTC" {
		return t.UTC().Format(time.RFC3339)
	}
	return localTime(t, zone) + " (" + zone + ")"
}

func usersOrNobody(u []string) string {
	if len(u) == 0 {
		return "(nobody)"
	}
	return strings.Join(u, ", ")
}
