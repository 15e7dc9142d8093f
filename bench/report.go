package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one measured point of an ingest run.
type Row struct {
	System      string `json:"system"`      // pagerd | alertmanager
	Kind        string `json:"kind"`        // events_v2 | webhook_batch | api_v2_alerts
	Target      string `json:"target"`      // leader | all nodes | alertmanager
	Batch       int    `json:"batch"`       // events per request
	Concurrency int    `json:"concurrency"` // closed-loop clients (0: open loop)
	Summary
}

// Target is one goal of issue 6 or the design notes, and whether it was met.
type Target struct {
	Name  string `json:"name"`
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
	Note  string `json:"note,omitempty"`
}

// Report is everything one bench run measured.
type Report struct {
	StartedAt    time.Time `json:"started_at"`
	Command      string    `json:"command"`
	Machine      Machine   `json:"machine"`
	Nodes        int       `json:"nodes"`
	Alertmanager string    `json:"alertmanager_version,omitempty"`
	// Client is the HTTP client of the closed-loop workers of both systems
	// (-client: lean or nethttp); every closed-loop row and storm run
	// carries the bench process's CPU per request it cost
	// (client_cpu_us_per_request).
	Client      string          `json:"client"`
	Ingest      []Row           `json:"ingest"`
	Comparison  map[string]any  `json:"comparison,omitempty"`
	HalfRate    *Row            `json:"half_rate,omitempty"`
	AlertToPage *Summary        `json:"alert_to_page,omitempty"`
	PagingNote  string          `json:"paging_note,omitempty"`
	Failover    []FailoverRound `json:"failover,omitempty"`
	Scale       *ScaleResult    `json:"scale,omitempty"`
	Storm       *StormResult    `json:"storm,omitempty"`
	Targets     []Target        `json:"targets"`
	Profiles    []string        `json:"profiles,omitempty"`
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "pagerd bench, %s\n", r.StartedAt.Format(time.RFC3339))
	m := r.Machine
	fmt.Fprintf(w, "machine: %d cores (%s), %.1f GiB, kernel %s, %s; fsync of 4 KiB p50 %.2f ms p99 %.2f ms\n",
		m.Cores, m.CPU, m.MemoryGiB, m.Kernel, m.GoVersion, m.FsyncP50ms, m.FsyncP99ms)
	fmt.Fprintf(w, "load average at start: %s; other busy processes: %v\n", m.LoadAvg, m.BusyProcesses)
	fmt.Fprintf(w, "cluster: %d pagerd nodes on loopback; %s; closed-loop client %s\n\n", r.Nodes, r.Alertmanager, r.Client)
	if len(r.Ingest) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "system\tkind\ttarget\tbatch\tclients\tevents/s\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tcores srv+gen\tgen µs/req\t")
		rows := r.Ingest
		if r.HalfRate != nil {
			rows = append(append([]Row(nil), rows...), *r.HalfRate)
		}
		for _, row := range rows {
			clients := fmt.Sprint(row.Concurrency)
			if row.Concurrency == 0 {
				clients = fmt.Sprintf("open %.0f/s", row.Extra["target_rate"])
			}
			gen := "-"
			if row.ClientCPUus > 0 {
				gen = fmt.Sprintf("%.1f", row.ClientCPUus)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t\n", row.System, row.Kind, row.Target,
				row.Batch, clients, row.EvPerSec, row.ReqPerSec, row.P50ms, row.P90ms, row.P99ms, row.Maxms, row.Errors, cpuColumn(row.Extra), gen)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(r.Comparison) > 0 {
		fmt.Fprintf(w, "pagerd / alertmanager ingest: %v\n\n", formatMap(r.Comparison))
	}
	if r.AlertToPage != nil {
		a := r.AlertToPage
		fmt.Fprintf(w, "alert-to-page (POST → message at the SMTP server), %d pages: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n\n",
			a.Requests, a.P50ms, a.P90ms, a.P99ms, a.Maxms)
	}
	if r.PagingNote != "" {
		fmt.Fprintf(w, "paging: %s\n\n", r.PagingNote)
	}
	for i, f := range r.Failover {
		fmt.Fprintf(w, "failover %d: kill -9 %s → leader %s after %.0f ms; writes again after %.0f ms (longest stall %.0f ms, %d acked, %d refused)",
			i+1, f.Killed, f.NewLeader, f.ElectionMs, f.WriteGapMs, f.LongestStall, f.Acked, f.Refused)
		if f.OverdueKillMs > 0 {
			fmt.Fprintf(w, "; overdue page %.0f ms after the kill, %.0f ms past due", f.OverdueKillMs, f.OverdueDueMs)
		}
		if f.OverdueNote != "" {
			fmt.Fprintf(w, "; %s", f.OverdueNote)
		}
		fmt.Fprintln(w)
	}
	if len(r.Failover) > 0 {
		fmt.Fprintln(w)
	}
	if s := r.Storm; s != nil {
		fmt.Fprintf(w, "\nstorm (every alert pages): pagerd %.0f incidents/s, Alertmanager %.0f alerts/s, ratio %.2fx; pages recorded %.0f vs %.0f/s; client %s cpu %.1f vs %.1f µs/request\n",
			s.PagerdRate, s.AMRate, s.Ratio, s.PagerdPages, s.AMPages, s.Client, s.PagerdClientCPU, s.AMClientCPU)
		for _, run := range s.Runs {
			fmt.Fprintf(w, "  %-12s %7.0f/s  p99 %6.1f ms  errors %d  pages %6.0f/s  backlog %d  cpu %.3f ms per incident  client cpu %.1f µs/request\n",
				run.System, run.EvPerSec, run.P99ms, run.Errors, run.PagesPerSec, run.Backlog, run.CPUPerIncidentMs, run.ClientCPUus)
		}
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(w, "scale: %d open incidents, %d schedules (loaded in %.1f s, %.0f/s)\n", s.Incidents, s.Schedules, s.LoadSeconds, s.LoadRate)
		fmt.Fprintf(w, "  RSS MiB %v, peak %v; snapshot %.1f MiB (saved in %.0f ms)\n", s.RSSMiB, s.PeakRSSMiB,
			float64(s.SnapshotBytes)/(1<<20), s.SnapshotSaveMs)
		writeScaleMemory(w, s)
		fmt.Fprintf(w, "  fresh node installs snapshot and serves in %.0f ms (installed snapshot: %v, RSS %d MiB); %s restarts after kill -9 and serves in %.0f ms\n\n",
			s.InstallMs, s.InstalledSnap, s.FreshNodeRSSMiB, s.RestartedNode, s.RestartMs)
	}
	if len(r.Targets) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\tgoal\tmeasured\tmet\t")
		for _, t := range r.Targets {
			met := "yes"
			if !t.Met {
				met = "NO"
			}
			if t.Note != "" {
				met += " (" + t.Note + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", t.Name, t.Goal, t.Value, met)
		}
		tw.Flush()
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(w, "profile: %s\n", p)
	}
}

func formatMap(m map[string]any) string {
	var parts []string
	for _, k := range []string{"pagerd_events_per_s", "alertmanager_alerts_per_s", "ratio", "pagerd_batch_events_per_s", "alertmanager_batch_alerts_per_s", "batch_ratio"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

// cpuColumn sums the cores the servers (pagerd nodes or Alertmanager) and the
// load generator used during a point.
func cpuColumn(extra map[string]any) string {
	cores, _ := extra["cpu_cores"].(map[string]float64)
	if len(cores) == 0 {
		return "-"
	}
	srv := 0.0
	for k, v := range cores {
		if k != "bench" {
			srv += v
		}
	}
	return fmt.Sprintf("%.2f+%.2f", srv, cores["bench"])
}
