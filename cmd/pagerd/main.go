// Command pagerd is the pagerd daemon and its command-line client (spec §1).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit statuses (spec §1).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError makes a command exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":       {"run a node", runServe},
		"config":      {"check | plan | apply config files", runConfig},
		"oncall":      {"who is on call now or --at a time", runOnCall},
		"shifts":      {"the shifts of a schedule in a window", runShifts},
		"override":    {"SCHEDULE --user U --from T --to T | delete SCHEDULE OID", runOverride},
		"overrides":   {"list a schedule's runtime overrides", runOverrides},
		"incidents":   {"list incidents | export --from T [--to T] (JSON lines)", runIncidents},
		"incident":    {"show one incident", runIncident},
		"ack":         {"acknowledge an incident", actionCommand("ack")},
		"resolve":     {"resolve an incident", actionCommand("resolve")},
		"escalate":    {"escalate an incident now", actionCommand("escalate")},
		"cluster":     {"status | remove NODE", runCluster},
		"snapshot":    {"save FILE | restore FILE", runSnapshot},
		"note":        {"add a note to an incident's timeline", runNote},
		"severity":    {"set an incident's severity (sev1..sev3)", runSeverity},
		"update":      {"post a status update (ID --phase P [--public] MESSAGE [--next 30m])", runUpdate},
		"maintenance": {"start SERVICE --for 1h [--reason T] | list | end ID", runMaintenance},
		"role":        {"ID ROLE USER: take or hand over a role (--release to free it)", runRole},
		"summary":     {"an incident's resolution summary", runSummary},
		"impact":      {"set when an incident's customer impact began (--at T)", runImpact},
		"report":      {"response [--from T --to T --by service|severity]: response report", runReport},
		"version":     {"print the version", runVersion},
		"postmortem":  {"ID [--edit FILE] [--status S]: print or store a postmortem", runPostmortem},
		"followup":    {"add ID TITLE --owner U [--due D] | done|wontdo FID", runFollowup},
		"followups":   {"list follow-ups [--overdue] [--owner U]", runFollowups},
		"services":    {"the service catalogue with continuity state", runServices},
		"heartbeats":  {"heartbeats and whether they are up", runHeartbeats},
		"drill":       {"run ID | runs ID: start a continuity drill, list its runs", runDrill},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pagerd: unknown command %q\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	err := cmd.run(args[1:], stdout, stderr)
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pagerd %s: %s\n", args[0], ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "pagerd %s: %v\n", args[0], err)
		return exitFailed
	}
}

// exitError carries an explicit exit status and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: pagerd COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'pagerd COMMAND -h' for a command's flags.")
}

// parseFlags parses flags anywhere among the arguments ("ack 42 --as bob" as
// well as "ack --as bob 42") and returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
