package router

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

// TestAlertmanagerKeepsLinks: Prometheus' generatorURL and a silence link
// built from Alertmanager's externalURL are kept on each alert (they were
// dropped, so pages had no graph link); links that are not http(s) are
// dropped without refusing the alert.
func TestAlertmanagerKeepsLinks(t *testing.T) {
	const graph = "http://prometheus:9090/graph?g0.expr=rate%28http_errors_total%5B5m%5D%29+%3E+0.05&g0.tab=1"
	e := newEnv(t)
	body := mutate(t, "firing-truncated.json", func(m map[string]any) {
		alertAt(m, 0)["generatorURL"] = graph
		alertAt(m, 1)["generatorURL"] = "javascript:alert(1)"
	})
	if w := e.do("POST", PathAlertmanager, body, bearer(promKey)...); w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if v := e.sub.groups[0].RulesVersion; v != incident.RulesCurrent {
		t.Errorf("rules_version %d, want %d: the state would apply the group by old rules", v, incident.RulesCurrent)
	}
	a0, a1 := e.sub.groups[0].Alerts[0], e.sub.groups[0].Alerts[1]
	if a0.GeneratorURL != graph {
		t.Errorf("generator_url %q, want %q", a0.GeneratorURL, graph)
	}
	if a1.GeneratorURL != "" {
		t.Errorf("non-http generator_url kept: %q", a1.GeneratorURL)
	}
	const want = "http://vm:19093/#/silences/new?filter=" +
		"%7Balertname%3D%22HighErrorRate%22%2C%20instance%3D%22web-1%22%2C%20service%3D%22checkout%22%2C%20severity%3D%22critical%22%7D"
	if a0.SilenceURL != want {
		t.Errorf("silence_url\n got %s\nwant %s", a0.SilenceURL, want)
	}
	u, err := url.Parse(a1.SilenceURL)
	if err != nil || u.Host != "vm:19093" || u.Fragment == "" {
		t.Errorf("second alert's silence_url %q", a1.SilenceURL)
	}
}

func TestSilenceURLNeedsAnHTTPExternalURL(t *testing.T) {
	for _, ext := range []string{"", "vm:9093", "ftp://vm", "http://"} {
		if got := silenceURL(ext, map[string]string{"a": "b"}); got != "" {
			t.Errorf("silenceURL(%q) = %q, want none", ext, got)
		}
	}
	if got := silenceURL("https://am.example.com/alertmanager/", map[string]string{"a": `say "hi"`}); got !=
		`https://am.example.com/alertmanager/#/silences/new?filter=%7Ba%3D%22say%20%5C%22hi%5C%22%22%7D` {
		t.Errorf("silenceURL = %q", got)
	}
}
