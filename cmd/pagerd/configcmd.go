package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
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

// loadLocal reads and validates config files; problems exit 2 with one
// FILE:LINE:COL line each.
func loadLocal(paths []string) ([]config.Source, *config.Config, error) {
	if len(paths) == 0 {
		return nil, nil, usagef("want at least one config PATH")
	}
	sources, err := config.ReadSources(paths...)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := config.Parse(sources, os.LookupEnv)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return sources, cfg, nil
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
	for _, w := range gapWarnings(cfg, time.Now()) {
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

func configPlan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config plan", flag.ContinueOnError)
	c := clientFlags(fs)
	against := fs.String("against", "", "compare with this config file or directory offline instead of the server's active config")
	weeks := fs.Int("weeks", 4, "how many weeks of shifts to compare")
	at := fs.String("from", "", "start of the compared window (RFC 3339; default now)")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *weeks < 1 || *weeks > 52 {
		return usagef("--weeks must be from 1 to 52")
	}
	from := time.Now()
	if *at != "" {
		if from, err = time.Parse(time.RFC3339, *at); err != nil {
			return usagef("--from: %v", err)
		}
	}
	_, newCfg, err := loadLocal(paths)
	if err != nil {
		return err
	}
	oldCfg, err := planBaseline(c, *against)
	if err != nil {
		return err
	}
	return printPlan(stdout, stderr, oldCfg, newCfg, from, from.Add(time.Duration(*weeks)*7*24*time.Hour))
}

// planBaseline is the config the plan compares against: a file, or the
// server's active config (its secrets are redacted, which the comparison of
// shifts and objects does not need).
func planBaseline(c *client, against string) (*config.Config, error) {
	if against != "" {
		_, cfg, err := loadLocal([]string{against})
		return cfg, err
	}
	var view api.ConfigView
	if _, err := c.getJSON("/v1/config", nil, &view); err != nil {
		return nil, err
	}
	placeholder := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		return "placeholder-" + name, true
	}
	// Secrets come back redacted, all alike; validation wants them distinct.
	// Plan compares schedules and objects, never secrets, so number them.
	yaml := view.YAML
	for i := 1; strings.Contains(yaml, config.RedactedValue); i++ {
		yaml = strings.Replace(yaml, config.RedactedValue, fmt.Sprintf("redacted-%d", i), 1)
	}
	cfg, err := config.Parse([]config.Source{{Name: "server:" + view.Version, Data: []byte(yaml)}}, placeholder)
	if err != nil {
		return nil, fmt.Errorf("parse the server's active config: %w", err)
	}
	return cfg, nil
}

func printPlan(stdout, stderr io.Writer, oldCfg, newCfg *config.Config, from, to time.Time) error {
	objs := diffObjects(oldCfg, newCfg)
	fmt.Fprintf(stdout, "config objects: %d changed\n", len(objs))
	for _, o := range objs {
		fmt.Fprintln(stdout, "  "+o)
	}
	oldSet, err := schedule.Compile(oldCfg)
	if err != nil {
		return fmt.Errorf("compile current schedules: %w", err)
	}
	newSet, err := schedule.Compile(newCfg)
	if err != nil {
		return fmt.Errorf("compile new schedules: %w", err)
	}
	changes, err := schedule.Diff(oldSet, newSet, from, to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\non-call shifts %s → %s: %d changed\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), len(changes))
	for _, ch := range changes {
		fmt.Fprintln(stdout, "  "+schedule.FormatChange(ch))
	}
	for _, w := range gapWarnings(newCfg, from) {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	return nil
}

// diffObjects lists config objects added, removed and changed, by kind and id.
func diffObjects(oldCfg, newCfg *config.Config) []string {
	var out []string
	kinds := []struct {
		name     string
		old, new map[string]any
	}{
		{"user", byID(oldCfg.Users, func(u config.User) string { return u.ID }), byID(newCfg.Users, func(u config.User) string { return u.ID })},
		{"rotation", byID(oldCfg.Rotations, func(r config.Rotation) string { return r.ID }), byID(newCfg.Rotations, func(r config.Rotation) string { return r.ID })},
		{"schedule", byID(oldCfg.Schedules, func(s config.Schedule) string { return s.ID }), byID(newCfg.Schedules, func(s config.Schedule) string { return s.ID })},
		{"policy", byID(oldCfg.Policies, func(p config.Policy) string { return p.ID }), byID(newCfg.Policies, func(p config.Policy) string { return p.ID })},
		{"service", byID(oldCfg.Services, func(s config.Service) string { return s.ID }), byID(newCfg.Services, func(s config.Service) string { return s.ID })},
		{"integration", byID(oldCfg.Integrations, func(i config.Integration) string { return i.Name }), byID(newCfg.Integrations, func(i config.Integration) string { return i.Name })},
	}
	for _, k := range kinds {
		ids := map[string]bool{}
		for id := range k.old {
			ids[id] = true
		}
		for id := range k.new {
			ids[id] = true
		}
		sorted := make([]string, 0, len(ids))
		for id := range ids {
			sorted = append(sorted, id)
		}
		sort.Strings(sorted)
		for _, id := range sorted {
			o, inOld := k.old[id]
			n, inNew := k.new[id]
			switch {
			case !inOld:
				out = append(out, fmt.Sprintf("+ %s %s (added)", k.name, id))
			case !inNew:
				out = append(out, fmt.Sprintf("- %s %s (removed)", k.name, id))
			case !reflect.DeepEqual(o, n):
				out = append(out, fmt.Sprintf("~ %s %s (changed)", k.name, id))
			}
		}
	}
	return out
}

func byID[T any](items []T, id func(T) string) map[string]any {
	m := make(map[string]any, len(items))
	for _, it := range items {
		m[id(it)] = it
	}
	return m
}
