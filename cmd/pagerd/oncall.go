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

func runOnCall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	c := clientFlags(fs)
	at := fs.String("at", "", "RFC 3339 time (default now)")
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
		if _, err := time.Parse(time.RFC3339, *at); err != nil {
			return usagef("--at: want RFC 3339, e.g. 2026-11-25T18:00:00Z")
		}
		q.Set("at", *at)
	}
	if len(pos) == 1 {
		var one struct {
			Schedule string    `json:"schedule"`
			At       time.Time `json:"at"`
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
		fmt.Fprintf(stdout, "on call at %s\n", all.At.UTC().Format(time.RFC3339))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, e := range all.OnCall {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Schedule, e.Kind, usersOrNobody(e.Users))
		}
		tw.Flush()
	})
	return nil
}

func runShifts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shifts", flag.ContinueOnError)
	c := clientFlags(fs)
	from := fs.String("from", "", "RFC 3339 start (default now)")
	to := fs.String("to", "", "RFC 3339 end (default two weeks after --from)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one SCHEDULE")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	q := url.Values{}
	for name, v := range map[string]string{"from": *from, "to": *to} {
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return usagef("--%s: want RFC 3339, e.g. 2026-11-25T18:00:00Z", name)
		}
		q.Set(name, v)
	}
	var shifts []schedule.Shift
	raw, err := c.getJSON("/v1/schedules/"+url.PathEscape(pos[0])+"/shifts", q, &shifts)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tSTART\tEND")
		for _, s := range shifts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.User, s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339))
		}
		tw.Flush()
	})
	return nil
}

func usersOrNobody(u []string) string {
	if len(u) == 0 {
		return "(nobody)"
	}
	return strings.Join(u, ", ")
}
