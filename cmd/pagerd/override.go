package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

// Runtime schedule overrides (spec §5.7):
//
//	pagerd override SCHEDULE --user U [--replaces U] --from T --to T
//	pagerd override delete SCHEDULE OID
//	pagerd overrides SCHEDULE

// cliOverride is a runtime override as the API answers it.
type cliOverride struct {
	ID       string    `json:"id"`
	Schedule string    `json:"schedule"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	User     string    `json:"user"`
	Replaces string    `json:"replaces"`
	By       string    `json:"by"`
}

func runOverride(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "delete" {
		return runOverrideDelete(args[1:], stdout)
	}
	fs := flag.NewFlagSet("override", flag.ContinueOnError)
	c := clientFlags(fs)
	user := fs.String("user", "", "who goes on call (a user id)")
	replaces := fs.String("replaces", "", "who leaves (a user id); without it everyone else leaves")
	from := fs.String("from", "", "start: "+timeFlagHelp)
	to := fs.String("to", "", "end: "+timeFlagHelp)
	by := fs.String("by", "", "who made it (default: the token's name)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want SCHEDULE --user U --from T --to T (or: delete SCHEDULE OID)")
	case *user == "":
		return usagef("--user: required")
	case !looksLikeTime(*from):
		return usagef("--from: want %s", timeFlagHelp)
	case !looksLikeTime(*to):
		return usagef("--to: want %s", timeFlagHelp)
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	body := map[string]string{"user": *user, "replaces": *replaces, "from": *from, "to": *to, "by": *by}
	var o cliOverride
	raw, err := c.postJSON("/v1/schedules/"+url.PathEscape(pos[0])+"/overrides", body, &o)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s: %s on call %s .. %s%s\n", o.ID, o.User, o.From.UTC().Format(time.RFC3339),
			o.To.UTC().Format(time.RFC3339), replacing(o.Replaces))
	})
	return nil
}

func runOverrideDelete(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("override delete", flag.ContinueOnError)
	c := clientFlags(fs)
	pos, err := c.parseArgs(fs, args, 2, "delete: want SCHEDULE OID")
	if err != nil {
		return err
	}
	raw, err := c.do(http.MethodDelete, "/v1/schedules/"+url.PathEscape(pos[0])+"/overrides/"+url.PathEscape(pos[1]), nil, nil, "")
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "deleted %s\n", pos[1]) })
	return nil
}

func runOverrides(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("overrides", flag.ContinueOnError)
	c := clientFlags(fs)
	utc := fs.Bool("utc", false, "show times in UTC instead of the schedule's zone")
	pos, err := c.parseArgs(fs, args, 1, "want SCHEDULE")
	if err != nil {
		return err
	}
	var list struct {
		Timezone  string        `json:"timezone"`
		Overrides []cliOverride `json:"overrides"`
	}
	raw, err := c.getJSON("/v1/schedules/"+url.PathEscape(pos[0])+"/overrides", nil, &list)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		if len(list.Overrides) == 0 {
			fmt.Fprintln(stdout, "no runtime overrides")
			return
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tREPLACES\tFROM\tTO\tBY")
		for _, o := range list.Overrides {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.User, dash(o.Replaces),
				showTime(o.From, list.Timezone, *utc), showTime(o.To, list.Timezone, *utc), dash(o.By))
		}
		tw.Flush()
	})
	return nil
}

func replacing(u string) string {
	if u == "" {
		return " (replacing everyone)"
	}
	return " (replacing " + u + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
