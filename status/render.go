package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"sort"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"label": statusLabel,
	"when":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"join":  joinNames,
}).ParseFS(templateFS, "templates/*.html"))

// statusLabel is the human text of a component status.
func statusLabel(s string) string {
	switch s {
	case "operational":
		return "Operational"
	case "degraded_performance":
		return "Degraded performance"
	case "partial_outage":
		return "Partial outage"
	case "major_outage":
		return "Major outage"
	case "under_maintenance":
		return "Under maintenance"
	}
	return s
}

// pageData is what page.html sees.
type pageData struct {
	View
	Base        string // /status/{page}
	HistoryDays int
	Subscribe   bool
}

// renderHTML renders the page; html/template escapes every text.
func renderHTML(v View, history time.Duration, subscribe bool) ([]byte, error) {
	var b bytes.Buffer
	d := pageData{View: v, Base: "/status/" + v.Page, HistoryDays: int(history / (24 * time.Hour)), Subscribe: subscribe}
	if err := templates.ExecuteTemplate(&b, "page.html", d); err != nil {
		return nil, fmt.Errorf("render status page %s: %w", v.Page, err)
	}
	return b.Bytes(), nil
}

// renderMessage renders a one-line answer page (subscribe, confirm).
func renderMessage(title, message, back string) []byte {
	var b bytes.Buffer
	_ = templates.ExecuteTemplate(&b, "message.html", map[string]string{"Title": title, "Message": message, "Back": back})
	return b.Bytes()
}

func renderJSON(v View) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode summary of %s: %w", v.Page, err)
	}
	return append(b, '\n'), nil
}

// Atom (RFC 4287) documents. encoding/xml escapes every text.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Link      atomLink   `xml:"link"`
	Content   atomText   `xml:"content"`
	Category  []atomTerm `xml:"category"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomTerm struct {
	Term string `xml:"term,attr"`
}

// maxFeedEntries bounds the feed; the newest updates are kept.
const maxFeedEntries = 200

// renderAtom renders every public update on the page (open incidents and
// the history), newest first. base is the page's absolute URL.
func renderAtom(v View, base string) ([]byte, error) {
	f := atomFeed{ID: base, Title: v.Title, Updated: atomTime(v.UpdatedAt), Author: atomAuthor{Name: v.Title},
		Links: []atomLink{{Rel: "alternate", Type: "text/html", Href: base}, {Rel: "self", Type: "application/atom+xml", Href: base + "/feed.atom"}}}
	var newest time.Time
	for _, list := range [][]IncidentView{v.Incidents, v.History} {
		for _, iv := range list {
			for _, u := range iv.Updates {
				if u.At.After(newest) {
					newest = u.At
				}
				f.Entries = append(f.Entries, atomEntry{
					ID:    "tag:pagerd,2026:status/" + v.Page + "/" + u.ID,
					Title: fmt.Sprintf("%s: %s (%s)", iv.Key, iv.Name, u.Phase), Updated: atomTime(u.At), Published: atomTime(u.At),
					Link:     atomLink{Rel: "alternate", Type: "text/html", Href: base + "#" + u.ID},
					Content:  atomText{Type: "text", Text: u.Message},
					Category: []atomTerm{{Term: u.Phase}},
				})
			}
		}
	}
	// Entries newest first; the feed's updated is its newest entry (stable
	// between polls), else the render time.
	sortEntries(f.Entries)
	if len(f.Entries) > maxFeedEntries {
		f.Entries = f.Entries[:maxFeedEntries]
	}
	if !newest.IsZero() {
		f.Updated = atomTime(newest)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", " ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode feed of %s: %w", v.Page, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func sortEntries(es []atomEntry) {
	// Fixed-width UTC RFC 3339 strings sort as the times they name.
	sort.SliceStable(es, func(i, j int) bool { return es[i].Updated > es[j].Updated })
}

// atomTime is RFC 3339 in UTC with fixed milliseconds.
func atomTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
