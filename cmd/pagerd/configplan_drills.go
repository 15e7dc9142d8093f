package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

// PlanDrill is a drill's next run in `config plan` and who its first step
// would page then (schedule simulation, runtime overrides included).
type PlanDrill struct {
	ID      string    `json:"id"`
	Service string    `json:"service"`
	NextRun time.Time `json:"next_run"`
	Pages   []string  `json:"pages"`
}

// planDrills simulates the next run of every drill of cfg after from.
func planDrills(cfg *config.Config, set *schedule.Set, from time.Time) []PlanDrill {
	out := []PlanDrill{}
	for _, d := range cfg.Drills {
		next := d.Next(from)
		p := PlanDrill{ID: d.ID, Service: d.Service, NextRun: next, Pages: []string{}}
		svc, _ := cfg.Service(d.Service)
		for _, pol := range cfg.Policies {
			if pol.ID == svc.Policy && len(pol.Steps) > 0 && !next.IsZero() {
				p.Pages = whoIsPaged(set, pol.Steps[0].Notify, next)
			}
		}
		out = append(out, p)
	}
	return out
}

// whoIsPaged resolves step targets to the people on call at t.
func whoIsPaged(set *schedule.Set, targets []string, t time.Time) []string {
	out := []string{}
	for _, tg := range targets {
		kind, id, _ := strings.Cut(tg, ":")
		switch kind {
		case "user":
			out = append(out, id)
		case "schedule", "rotation":
			users, err := set.OnCall(id, t)
			if err != nil {
				out = append(out, tg+" (unknown)")
				continue
			}
			if len(users) == 0 {
				out = append(out, tg+" (nobody: a gap)")
			}
			out = append(out, users...)
		default:
			out = append(out, tg)
		}
	}
	return out
}

func printPlanDrills(w io.Writer, ds []PlanDrill) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintf(w, "\ndrills: %d\n", len(ds))
	for _, d := range ds {
		if d.NextRun.IsZero() {
			fmt.Fprintf(w, "  %s (%s): never runs again\n", d.ID, d.Service)
			continue
		}
		fmt.Fprintf(w, "  %s (%s): next run %s, pages %s\n", d.ID, d.Service, d.NextRun.Format(time.RFC3339), strings.Join(d.Pages, ", "))
	}
}
