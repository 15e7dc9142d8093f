package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

const gapWarningWindow = 4 * 7 * 24 * time.Hour

func runConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: check | plan | apply")
	}
	switch args[0] {
	case "check":
		return configCheck(args[1:], stdout, stderr)
	case "plan":
		return configPlan(args[1:], stdout, stderr)
	case "apply":
		return configApply(args[1:], stdout, stderr)
	}
	return usagef("unknown subcommand %q (want check, plan or apply)", args[0])
}

// loadLocal reads and validates config files, including the admission rule
// (config.CheckAccess); problems exit 2 with one FILE:LINE:COL line each.
func loadLocal(paths []string) ([]config.Source, *config.Config, error) {
	return readLocal(paths, true)
}

// readLocal is loadLocal; admit false skips the admission rule, for a config
// that is only compared with (config plan --against).
func readLocal(paths []string, admit bool) ([]config.Source, *config.Config, error) {
	if len(paths) == 0 {
		return nil, nil, usagef("want at least one config PATH")
	}
	sources, err := config.ReadSources(paths...)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := config.Parse(sources, os.LookupEnv)
	if err == nil && admit {
		// auth: none passes here with a warning (accessWarnings): whether it
		// is accepted depends on the node (--dev), which check cannot know.
		err = cfg.CheckAccess(true)
	}
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return sources, cfg, nil
}

// accessWarnings says when a config leaves the API open.
func accessWarnings(cfg *config.Config) []string {
	if cfg.OpenAPI() {
		return []string{"auth: none leaves the API open; only a node started with --dev accepts this config"}
	}
	return nil
}

func configCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	_, cfg, err := loadLocal(paths)
	if err != nil {
		return err
	}
	for _, w := range append(accessWarnings(cfg), gapWarnings(cfg, time.Now())...) {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	fmt.Fprintf(stdout, "%s: valid\n", strings.Join(paths, ", "))
	return nil
}

// gapWarnings names every schedule with nobody on call somewhere in the next
// four weeks. A gap is legal (the answer is "nobody"), but rarely intended.
func gapWarnings(cfg *config.Config, now time.Time) []string {
	set, err := schedule.Compile(cfg)
	if err != nil {
		return []string{"schedules: " + err.Error()}
	}
	var out []string
	for _, id := range set.IDs() {
		if !set.IsSchedule(id) {
			continue
		}
		gaps, err := set.Gaps(id, now, now.Add(gapWarningWindow))
		if err != nil || len(gaps) == 0 {
			continue
		}
		var total time.Duration
		for _, g := range gaps {
			total += g.End.Sub(g.Start)
		}
		out = append(out, fmt.Sprintf("schedule %q has nobody on call for %s in the next 4 weeks (first gap %s → %s)",
			id, total.Round(time.Minute), gaps[0].Start.UTC().Format(time.RFC3339), gaps[0].End.UTC().Format(time.RFC3339)))
	}
	return out
}

func configApply(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config apply", flag.ContinueOnError)
	c := clientFlags(fs)
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	// Validate locally first for FILE:LINE:COL against the admin's own paths;
	// the server validates again with its environment.
	sources, cfg, err := loadLocal(paths)
	if err != nil {
		return err
	}
	for _, w := range gapWarnings(cfg, time.Now()) {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	body, _ := json.Marshal(api.ConfigUpload{Sources: sources})
	raw, err := c.do(http.MethodPut, "/v1/config", nil, bytes.NewReader(body), "application/json")
	if err != nil {
		if ae, ok := err.(*apiError); ok && ae.status == http.StatusBadRequest {
			return &exitError{code: exitUsage, msg: ae.msg}
		}
		return err
	}
	var out struct {
		Version string `json:"version"`
	}
	json.Unmarshal(raw, &out)
	c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "applied %s\n", out.Version) })
	return nil
}
