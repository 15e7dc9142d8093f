package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Ad hoc maintenance windows (spec §5.3 POST /v1/maintenance, `pagerd
// maintenance start`): replicated state beside the config's windows. The
// leader resolves "for 1h" to instants; apply assigns the id from a
// replicated sequence, so every replica holds the same list.

// MaintenanceCommand starts or ends an ad hoc window.
type MaintenanceCommand struct {
	Op string `json:"op"` // start | end
	// Window is the window to start (ID and Source are set in apply); for
	// end only ID is read.
	Window config.MaintenanceWindow `json:"window"`
	By     string                   `json:"by,omitempty"`
}

// Maintenance command operations.
const (
	MaintenanceStart = "start"
	MaintenanceEnd   = "end"
	// maintenanceKeep is how long an ended ad hoc window stays listed.
	maintenanceKeep = 7 * 24 * time.Hour
	// maxAdhocWindows bounds the live list.
	maxAdhocWindows = 500
)

// maintState is the replicated list of ad hoc windows, in id order.
type maintState struct {
	Seq  uint64                     `json:"seq"`
	List []config.MaintenanceWindow `json:"list"`
}

func (f *FSM) applyMaintenance(now time.Time, body []byte) Result {
	var mc MaintenanceCommand
	if err := json.Unmarshal(body, &mc); err != nil {
		return Result{Err: fmt.Errorf("decode maintenance: %w", err)}
	}
	f.maint.List = slices.DeleteFunc(f.maint.List, func(w config.MaintenanceWindow) bool { return now.Sub(w.To) > maintenanceKeep })
	switch mc.Op {
	case MaintenanceStart:
		w := mc.Window
		if len(w.Services) == 0 || !w.To.After(w.From) {
			return Result{Err: fmt.Errorf("%w: maintenance: services and a to after from are required", incident.ErrInvalid)}
		}
		if len(f.maint.List) >= maxAdhocWindows {
			return Result{Err: fmt.Errorf("%w: maintenance: %d ad hoc windows are live; end some first", incident.ErrConflict, maxAdhocWindows)}
		}
		f.maint.Seq++
		w.ID, w.Source = "mw"+strconv.FormatUint(f.maint.Seq, 10), "adhoc"
		f.maint.List = append(f.maint.List, w)
		return Result{Value: w}
	case MaintenanceEnd:
		i := slices.IndexFunc(f.maint.List, func(w config.MaintenanceWindow) bool { return w.ID == mc.Window.ID })
		if i < 0 {
			return Result{Err: fmt.Errorf("%w: maintenance window %q (only ad hoc windows can be ended)", incident.ErrNotFound, mc.Window.ID)}
		}
		w := &f.maint.List[i]
		if !w.To.After(now) {
			return Result{Err: fmt.Errorf("%w: maintenance window %s already ended at %s", incident.ErrConflict, w.ID, w.To.UTC().Format(time.RFC3339))}
		}
		end := w.To
		if w.From.After(now) {
			w.From = now
		}
		w.To = now
		// Incidents waiting for this window's end page now.
		f.incidents.EndDeferrals(now, w.Services, end, "maintenance window "+w.ID+" ended early by "+orUnknown(mc.By))
		return Result{Value: *w}
	}
	return Result{Err: fmt.Errorf("%w: maintenance: unknown op %q", incident.ErrInvalid, mc.Op)}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// AdhocMaintenance is the list of ad hoc windows (ended ones stay for
// maintenanceKeep).
func (f *FSM) AdhocMaintenance() []config.MaintenanceWindow {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.maint.List)
}

func (f *FSM) snapshotMaintenance() *maintState {
	if len(f.maint.List) == 0 && f.maint.Seq == 0 {
		return nil
	}
	return &maintState{Seq: f.maint.Seq, List: slices.Clone(f.maint.List)}
}

// MaintenanceWindows are the windows on at now or starting within ahead,
// from config and ad hoc, soonest first. Status pages list them; the
// leader plans paging with them.
func (n *Node) MaintenanceWindows(now time.Time, ahead time.Duration) []config.MaintenanceWindow {
	return maintenanceWindows(n.fsm, now, ahead)
}

// MaintenanceWindows is the FSM's view of MaintenanceWindows for readers
// that hold only the state machine (status pages on any node).
func (f *FSM) MaintenanceWindows(now time.Time, ahead time.Duration) []config.MaintenanceWindow {
	return maintenanceWindows(f, now, ahead)
}

func maintenanceWindows(f *FSM, now time.Time, ahead time.Duration) []config.MaintenanceWindow {
	var out []config.MaintenanceWindow
	if ac := f.Config(); ac != nil && ac.Config != nil {
		out = ac.Config.MaintenanceOccurrences(now, ahead)
	}
	end := now.Add(ahead)
	for _, w := range f.AdhocMaintenance() {
		if w.To.After(now) && !w.From.After(end) {
			out = append(out, w)
		}
	}
	config.SortWindows(out)
	return out
}

// MaintenanceForService filters windows to those on service.
func MaintenanceForService(ws []config.MaintenanceWindow, service string) []config.MaintenanceWindow {
	var out []config.MaintenanceWindow
	for _, w := range ws {
		if slices.Contains(w.Services, service) {
			out = append(out, w)
		}
	}
	return out
}

// StartMaintenance commits an ad hoc window from now for d on services.
func (n *Node) StartMaintenance(ctx context.Context, services []string, d time.Duration, reason, by string, allow []string) (config.MaintenanceWindow, error) {
	now := n.planNow()
	w := config.MaintenanceWindow{Services: services, From: now, To: now.Add(d), Reason: reason, By: by, Allow: allow}
	v, err := n.Submit(ctx, TypeMaintenance, &MaintenanceCommand{Op: MaintenanceStart, Window: w, By: by})
	out, _ := v.(config.MaintenanceWindow)
	return out, err
}

// EndMaintenance commits the early end of an ad hoc window.
func (n *Node) EndMaintenance(ctx context.Context, id, by string) (config.MaintenanceWindow, error) {
	v, err := n.Submit(ctx, TypeMaintenance, &MaintenanceCommand{Op: MaintenanceEnd, Window: config.MaintenanceWindow{ID: id}, By: by})
	out, _ := v.(config.MaintenanceWindow)
	return out, err
}

// MaintenanceWindowPrefix marks a paging deferral caused by a maintenance
// window (incident.Deferral.Window), as opposed to business hours.
const MaintenanceWindowPrefix = incident.MaintenancePrefix

// pagingPlanFor is the leader's paging plan for an incident of service,
// at the instant the batcher will stamp at the earliest (planNow: recorded
// time never goes backwards, so a new leader with a slower clock plans from
// the last applied time):
// per severity, whether paging waits for business hours or for the end of a
// maintenance window on the service (then for business hours from that
// end, if the severity pages only in them).
func (n *Node) pagingPlanFor(service string) []incident.Deferral {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return nil
	}
	now := n.planNow()
	ws := MaintenanceForService(n.MaintenanceWindows(now, 0), service)
	if len(ws) == 0 {
		return ac.Config.PagingPlan(now)
	}
	var plan []incident.Deferral
	for _, sev := range config.Severities {
		until, id, inMaint := config.MaintenanceDeferral(ws, service, sev, now)
		from := now
		if inMaint {
			from = until
		}
		bh, window, later := ac.Config.PagingDeferral(sev, from)
		switch {
		case inMaint && later:
			plan = append(plan, incident.Deferral{Severity: sev, Window: MaintenanceWindowPrefix + id + ", then " + window, Until: bh.UTC()})
		case inMaint:
			plan = append(plan, incident.Deferral{Severity: sev, Window: MaintenanceWindowPrefix + id, Until: until.UTC()})
		case later:
			plan = append(plan, incident.Deferral{Severity: sev, Window: window, Until: bh.UTC()})
		}
	}
	return plan
}
