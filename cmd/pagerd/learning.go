package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/learning"
)

// runPostmortem prints an incident's postmortem body (pagerd postmortem
// INC-42 > pm.md), or with --edit FILE stores FILE as its body; --status
// and --owner change those.
func runPostmortem(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
	c := clientFlags(fs)
	edit := fs.String("edit", "", "store this Markdown file as the body")
	status := fs.String("status", "", "set the status: draft, in_review or published")
	owner := fs.String("owner", "", "hand the postmortem to this user")
	as := fs.String("as", "", "act as this user (default: the API token's name)")
	pos, err := c.parseArgs(fs, args, 1, "want an incident ID (pagerd postmortem INC-42 [--edit pm.md])")
	if err != nil {
		return err
	}
	id, err := api.ParseIncidentID(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	path := fmt.Sprintf("/v1/incidents/%d/postmortem", id)
	var p learning.Postmortem
	var raw []byte
	if *edit == "" && *status == "" && *owner == "" {
		raw, err = c.getJSON(path, nil, &p)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() { io.WriteString(stdout, p.Body) })
		return nil
	}
	body := map[string]any{"status": *status, "owner": *owner, "by": *as}
	if *edit != "" {
		b, err := os.ReadFile(*edit)
		if err != nil {
			return usagef("--edit: %v", err)
		}
		body["body"] = string(b)
	}
	raw, err = c.sendJSON("PUT", path, body, &p)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		fmt.Fprintf(stdout, "%s postmortem %s, owner %s, due %s (%d bytes)\n", p.Key, p.Status, p.Owner, p.DueAt.Format("2006-01-02"), len(p.Body))
	})
	return nil
}

// runFollowup is `pagerd followup add ID TITLE --owner U [--due D]` and
// `pagerd followup done|wontdo FID [--note T]`.
func runFollowup(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want add, done or wontdo")
	}
	fs := flag.NewFlagSet("followup "+args[0], flag.ContinueOnError)
	c := clientFlags(fs)
	owner := fs.String("owner", "", "who does it (a user id)")
	due := fs.String("due", "", "due date: 2026-12-24, an RFC 3339 time or 14d (default: the severity's followups_due)")
	prio := fs.String("priority", "", "high, normal or low")
	link := fs.String("link", "", "issue tracker URL")
	note := fs.String("note", "", "why (done/wontdo)")
	as := fs.String("as", "", "act as this user (default: the API token's name)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	var f learning.Followup
	var raw []byte
	switch {
	case args[0] == "add" && len(pos) == 2:
		id, err := api.ParseIncidentID(pos[0])
		if err != nil {
			return usagef("%v", err)
		}
		raw, err = c.postJSON(fmt.Sprintf("/v1/incidents/%d/followups", id), map[string]string{"title": pos[1],
			"owner": *owner, "due": *due, "priority": *prio, "link": *link, "by": *as}, &f)
		if err != nil {
			return err
		}
	case (args[0] == "done" || args[0] == "wontdo") && len(pos) == 1:
		status := map[string]string{"done": "done", "wontdo": "wont_do"}[args[0]]
		raw, err = c.sendJSON("PATCH", "/v1/followups/"+url.PathEscape(pos[0]), map[string]string{"status": status, "note": *note, "by": *as}, &f)
		if err != nil {
			return err
		}
	default:
		return usagef("want: followup add INC-42 TITLE --owner U [--due D] | followup done|wontdo INC-42-F1")
	}
	c.emit(stdout, raw, func() { printFollowup(stdout, f) })
	return nil
}

// runFollowups lists follow-ups: open ones by default.
func runFollowups(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("followups", flag.ContinueOnError)
	c := clientFlags(fs)
	overdue := fs.Bool("overdue", false, "only those past due")
	owner := fs.String("owner", "", "only this owner's")
	status := fs.String("status", "", "open (default), done, wont_do or all")
	inc := fs.String("incident", "", "only this incident's")
	_, err := c.parseArgs(fs, args, 0, "followups takes no arguments")
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"owner": *owner, "status": *status, "incident": *inc} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *overdue {
		q.Set("overdue", "true")
	}
	var ans struct {
		Followups []learning.Followup `json:"followups"`
	}
	raw, err := c.getJSON("/v1/followups", q, &ans)
	if err != nil {
		return err
	}
	c.emit(stdout, raw, func() {
		if len(ans.Followups) == 0 {
			fmt.Fprintln(stdout, "no follow-ups")
		}
		for _, f := range ans.Followups {
			printFollowup(stdout, f)
		}
	})
	return nil
}

func printFollowup(w io.Writer, f learning.Followup) {
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\tdue %s\t%s", f.ID, f.Status, f.Priority, f.Owner, f.Due.Format("2006-01-02"), f.Title)
	if f.Link != "" {
		fmt.Fprintf(w, "\t%s", f.Link)
	}
	fmt.Fprintln(w)
}
