package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"text/tabwriter"

	"github.com/pagerd/pagerd/reports"
)

// runReport prints a report: pagerd report response [--from T] [--to T]
// [--by service|severity] [--output text|json|csv]. The node checks the
// window and grouping, so its 400 names the field.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	c := clientFlags(fs)
	from := fs.String("from", "", "start of the window, RFC 3339 or YYYY-MM-DD (default: 30 days before --to)")
	to := fs.String("to", "", "end of the window, exclusive (default: now)")
	by := fs.String("by", "service", "group by service | severity")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "response" {
		return usagef("want a report name: pagerd report response [--from T] [--to T] [--by service|severity]")
	}
	if c.output != "text" && c.output != "json" && c.output != "csv" {
		return usagef("--output must be text, json or csv (got %q)", c.output)
	}
	q := url.Values{"group_by": {*by}}
	for k, v := range map[string]string{"from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.output == "csv" {
		q.Set("format", "csv")
		raw, err := c.do(http.MethodGet, "/v1/reports/response", q, nil, "")
		if err != nil {
			return err
		}
		_, err = stdout.Write(raw)
		return err
	}
	var rep reports.Response
	raw, err := c.getJSON("/v1/reports/response", q, &rep)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() { printResponseReport(stdout, rep) })
	return nil
}

func printResponseReport(w io.Writer, rep reports.Response) {
	fmt.Fprintf(w, "incidents created %s to %s by %s (drills left out: %d)\n",
		rep.From.UTC().Format("2006-01-02T15:04:05Z"), rep.To.UTC().Format("2006-01-02T15:04:05Z"), rep.GroupBy, rep.Drills)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCOUNT\tTTA P50\tTTA P90\tTTA MEAN\tTTR P50\tTTR P90\tTTR MEAN\tESCALATED\tDEFERRED\tPAGES")
	for _, g := range append(append([]reports.Group(nil), rep.Groups...), rep.Total) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", g.Group, g.Count,
			secs(g.TTA.P50), secs(g.TTA.P90), secs(g.TTA.Mean), secs(g.TTR.P50), secs(g.TTR.P90), secs(g.TTR.Mean),
			g.Escalated, g.Deferred, pagesText(g.Pages))
	}
	tw.Flush()
}

func secs(s float64) string { return fmt.Sprintf("%gs", s) }

func pagesText(p map[string]int) string {
	if len(p) == 0 {
		return "-"
	}
	chans := make([]string, 0, len(p))
	for ch := range p {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	out := ""
	for i, ch := range chans {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s=%d", ch, p[ch])
	}
	return out
}
