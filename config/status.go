package config

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// StatusPage is one status page (spec §5.1 status_pages): its components
// and which services each one shows.
type StatusPage struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	// Audience is StatusPublic (anyone may read) or StatusInternal (an API
	// token or a signed-in user); Parse fills in public.
	Audience   string      `yaml:"audience"`
	Components []Component `yaml:"components"`
	// History is how long resolved incidents stay on the page (14 days
	// when unset).
	History Duration `yaml:"history"`
}

// Status page audiences.
const (
	StatusPublic   = "public"
	StatusInternal = "internal"
	// DefaultStatusHistory is how long resolved incidents stay listed.
	DefaultStatusHistory = Duration(14 * 24 * time.Hour)
)

// Component is one part of a status page, backed by services.
type Component struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Services []string `yaml:"services"`
}

// UpdateTemplate is a canned status update (spec §5.1 update_templates):
// Go text/template texts for each audience, rendered with UpdateData.
type UpdateTemplate struct {
	ID       string `yaml:"id"`
	Phase    string `yaml:"phase"`
	Internal string `yaml:"internal"`
	Public   string `yaml:"public"`

	internal, public *template.Template
}

// UpdateData is what an update template sees: .Key .Title .Severity
// .Service .Components .NextUpdate and .Role "incident_manager".
type UpdateData struct {
	Key, Title, Severity, Service string
	// Components are the names of the components the update is about
	// (those it sets, else those of the incident's service), joined by ", ".
	Components string
	// NextUpdate is when the next update is due ("" when none is).
	NextUpdate string
	// Roles maps role ids to holders; Role reads it.
	Roles map[string]string
}

// Role is the holder of role id, or "" when nobody holds it.
func (d UpdateData) Role(id string) string { return d.Roles[id] }

// sampleUpdateData is the incident every template must render against at
// config check time, so a template mistake is found before an incident.
var sampleUpdateData = UpdateData{Key: "INC-1", Title: "Sample incident", Severity: "sev1", Service: "checkout",
	Components: "Checkout API", NextUpdate: "2026-01-01 00:30 UTC", Roles: map[string]string{"incident_manager": "alice"}}

// StatusPageByID returns the page with id.
func (c *Config) StatusPageByID(id string) (StatusPage, bool) {
	for _, p := range c.StatusPages {
		if p.ID == id {
			return p, true
		}
	}
	return StatusPage{}, false
}

// ComponentByID returns the component with id on any status page.
func (c *Config) ComponentByID(id string) (Component, bool) {
	for _, p := range c.StatusPages {
		for _, comp := range p.Components {
			if comp.ID == id {
				return comp, true
			}
		}
	}
	return Component{}, false
}

// ComponentsOfService are the components (of every page) that show service,
// in config order, each once.
func (c *Config) ComponentsOfService(service string) []Component {
	var out []Component
	seen := map[string]bool{}
	for _, p := range c.StatusPages {
		for _, comp := range p.Components {
			if !seen[comp.ID] && containsString(comp.Services, service) {
				seen[comp.ID] = true
				out = append(out, comp)
			}
		}
	}
	return out
}

// CheckComponents checks an update's component statuses: each component
// exists on a status page and each status is one an update may set. The
// error names the field.
func (c *Config) CheckComponents(comps map[string]string) error {
	keys := make([]string, 0, len(comps))
	for k := range comps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := c.ComponentByID(k); !ok {
			return fmt.Errorf("components.%s: unknown component %q (status_pages define %s)", k, k, c.componentList())
		}
		if !incident.ValidComponentStatus(comps[k]) {
			return fmt.Errorf("components.%s: unknown status %q (use %s)", k, comps[k], strings.Join(incident.ComponentStatuses, ", "))
		}
	}
	return nil
}

func (c *Config) componentList() string {
	var ids []string
	for _, p := range c.StatusPages {
		for _, comp := range p.Components {
			ids = append(ids, comp.ID)
		}
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// UpdateTemplateByID returns the template with id.
func (c *Config) UpdateTemplateByID(id string) (UpdateTemplate, bool) {
	for _, t := range c.UpdateTemplates {
		if t.ID == id {
			return t, true
		}
	}
	return UpdateTemplate{}, false
}

// Render renders the template's text for audience with d. A template with
// no text for that audience is an error naming it.
func (t UpdateTemplate) Render(audience string, d UpdateData) (string, error) {
	tpl := t.internal
	if audience == incident.AudiencePublic {
		tpl = t.public
	}
	if tpl == nil {
		return "", fmt.Errorf("template: %q has no %s text", t.ID, audience)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("template: %q: %w", t.ID, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// ComponentNames joins the names of the components ids, or, when ids is
// empty, of the components showing service; "" when there are none.
func (c *Config) ComponentNames(ids []string, service string) string {
	var names []string
	if len(ids) > 0 {
		sort.Strings(ids)
		for _, id := range ids {
			if comp, ok := c.ComponentByID(id); ok {
				names = append(names, orDefault(comp.Name, comp.ID))
			}
		}
	} else {
		for _, comp := range c.ComponentsOfService(service) {
			names = append(names, orDefault(comp.Name, comp.ID))
		}
	}
	return strings.Join(names, ", ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkStatusPages validates status_pages: unique page ids, a known
// audience, components with unique ids (across pages: updates name
// components by id alone) and known services.
func (v *validator) checkStatusPages() {
	ps := v.cfg.StatusPages
	v.statusPages = v.ids(len(ps), func(i int) string { return ps[i].ID }, func(i int) string { return idx("status_pages", i, "id") })
	seen := map[string]string{}
	for i := range ps {
		p := &ps[i]
		path := idx("status_pages", i, "")
		switch p.Audience {
		case "":
			p.Audience = StatusPublic
		case StatusPublic, StatusInternal:
		default:
			v.add(path+".audience", "%q is neither public nor internal", p.Audience)
		}
		if p.History < 0 {
			v.add(path+".history", "must not be negative")
		} else if p.History == 0 {
			p.History = DefaultStatusHistory
		}
		for j, comp := range p.Components {
			cp := idx(path+".components", j, "")
			switch first, dup := seen[comp.ID]; {
			case comp.ID == "":
				v.add(cp+".id", "required")
			case dup:
				v.add(cp+".id", "duplicate component %q (already used by %s)", comp.ID, first)
			default:
				seen[comp.ID] = cp
			}
			for k, s := range comp.Services {
				if !v.services[s] {
					v.add(idx(cp+".services", k, ""), "unknown service %q", s)
				}
			}
		}
	}
}

// checkUpdateTemplates validates update_templates: unique ids, a known
// phase, at least one text, and every text parses and renders against a
// sample incident (so `{{.Nope}}` is a config error, not a 400 during an
// incident).
func (v *validator) checkUpdateTemplates() {
	ts := v.cfg.UpdateTemplates
	v.ids(len(ts), func(i int) string { return ts[i].ID }, func(i int) string { return idx("update_templates", i, "id") })
	for i := range ts {
		t := &ts[i]
		p := idx("update_templates", i, "")
		if !incident.ValidPhase(t.Phase) {
			v.add(p+".phase", "unknown phase %q (use %s)", t.Phase, strings.Join(incident.Phases, ", "))
		}
		if t.Internal == "" && t.Public == "" {
			v.add(p, "an internal or a public text is required")
		}
		t.internal = v.compileTemplate(p+".internal", t.ID, t.Internal)
		t.public = v.compileTemplate(p+".public", t.ID, t.Public)
	}
}

func (v *validator) compileTemplate(path, id, text string) *template.Template {
	if text == "" {
		return nil
	}
	tpl, err := template.New(id).Option("missingkey=error").Parse(text)
	if err != nil {
		v.add(path, "%v", err)
		return nil
	}
	if err := tpl.Execute(&strings.Builder{}, sampleUpdateData); err != nil {
		v.add(path, "does not render against a sample incident: %v", err)
		return nil
	}
	return tpl
}
