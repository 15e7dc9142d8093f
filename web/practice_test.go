package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/learning"
)

// apiGet reads an API path as JSON.
func apiGet(t testing.TB, cs *console, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", cs.node.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{"_status": float64(resp.StatusCode)}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
	return out
}

// practiceForms are one valid POST of each new incident form.
func practiceForms() map[string]url.Values {
	return map[string]url.Values{
		"role":       {"role": {"incident_manager"}, "take": {"1"}},
		"update":     {"audience": {"internal"}, "phase": {"identified"}, "message": {"disk filled by logs"}},
		"impact":     {"started_at": {time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")}},
		"postmortem": {"status": {"draft"}, "owner": {"bob"}, "body": {`# Summary <script>alert("pm")</script> it's "quoted"`}},
		"followup":   {"title": {"rotate logs"}, "owner": {"bob"}, "priority": {"high"}},
	}
}

// Each practice form acts as the signed-in person (alice, under --dev)
// through the same node calls as the API, and the page shows the result.
func TestPracticeActionsActAsSignedInUser(t *testing.T) {
	cs := startConsole(t, true)
	trigger(t, cs, `"disk full"`)
	c := client(t)
	_, page, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	csrf := csrfOf(t, page)
	for _, action := range []string{"role", "update", "impact", "postmortem", "followup"} {
		form := practiceForms()[action]
		form.Set("csrf", csrf)
		code, body, h := post(t, c, cs.url+"/ui/incidents/INC-1/"+action, form)
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/incidents/INC-1?done="+action+"&at=") {
			t.Fatalf("%s: %d %q\n%s", action, code, h.Get("Location"), body)
		}
	}
	inc := apiGet(t, cs, "/v1/incidents/1")
	if roles, _ := inc["roles"].(map[string]any); roles["incident_manager"] != "alice" {
		t.Errorf("roles = %v, want alice as incident_manager", inc["roles"])
	}
	ups, _ := inc["updates"].([]any)
	if len(ups) != 1 || ups[0].(map[string]any)["by"] != "alice" || ups[0].(map[string]any)["phase"] != "identified" {
		t.Errorf("updates = %v", inc["updates"])
	}
	if inc["impact_started_at"] == nil {
		t.Errorf("impact_started_at not set")
	}
	pm := apiGet(t, cs, "/v1/incidents/1/postmortem")
	if pm["updated_by"] != "alice" || pm["owner"] != "bob" || !strings.Contains(pm["body"].(string), "<script>") {
		t.Errorf("postmortem = %v", pm)
	}
	fus, _ := apiGet(t, cs, "/v1/followups?incident=1")["followups"].([]any)
	if len(fus) != 1 || fus[0].(map[string]any)["created_by"] != "alice" || fus[0].(map[string]any)["priority"] != "high" {
		t.Fatalf("followups = %v", fus)
	}
	id := fus[0].(map[string]any)["id"].(string)

	_, page, _ = get(t, c, cs.url+"/ui/incidents/INC-1?done=followup")
	for _, want := range []string{"Follow-up added.", `data-role="incident_manager"><b>alice</b>`, "disk filled by logs", "rotate logs", id, "Customer impact began"} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	code, _, _ := post(t, c, cs.url+"/ui/followups/"+id+"/close", url.Values{"csrf": {csrf}, "status": {"done"}, "back": {"incident"}})
	fu := apiGet(t, cs, "/v1/followups/"+id)
	if code != http.StatusSeeOther || fu["status"] != "done" || fu["closed_by"] != "alice" {
		t.Fatalf("close: %d %v", code, fu)
	}
}

// A postmortem body with a script and quotes is text on the page, in the
// shown body and in the edit form.
func TestPostmortemShownEscaped(t *testing.T) {
	cs := startConsole(t, true)
	trigger(t, cs, `"disk full"`)
	c := client(t)
	_, page, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	form := practiceForms()["postmortem"]
	form.Set("csrf", csrfOf(t, page))
	if code, body, _ := post(t, c, cs.url+"/ui/incidents/INC-1/postmortem", form); code != http.StatusSeeOther {
		t.Fatalf("postmortem: %d\n%s", code, body)
	}
	_, page, _ = get(t, c, cs.url+"/ui/incidents/INC-1")
	if strings.Contains(page, `<script>alert("pm")`) {
		t.Fatal("the postmortem's script is raw HTML on the page")
	}
	shown := regexp1(t, `(?s)<pre class="card postmortem" id="postmortem-body">(.*?)</pre>`, page)
	if shown != `# Summary &lt;script&gt;alert(&#34;pm&#34;)&lt;/script&gt; it&#39;s &#34;quoted&#34;` {
		t.Errorf("shown body = %q", shown)
	}
	if !strings.Contains(page, `id="postmortem-status">draft<`) || !strings.Contains(page, `id="postmortem-owner">bob<`) {
		t.Errorf("status/owner not shown")
	}
}

// A body over the 256 KiB cap is refused with a clear error and saves
// nothing.
func TestPostmortemOverCapRefused(t *testing.T) {
	cs := startConsole(t, true)
	trigger(t, cs, `"disk full"`)
	c := client(t)
	_, page, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	form := url.Values{"csrf": {csrfOf(t, page)}, "status": {"draft"}, "body": {strings.Repeat("x", 256<<10+1)}}
	code, body, _ := post(t, c, cs.url+"/ui/incidents/INC-1/postmortem", form)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "256 KiB cap") {
		t.Fatalf("over cap: %d\n%s", code, body)
	}
	if pm := apiGet(t, cs, "/v1/incidents/1/postmortem"); pm["_status"] != float64(404) {
		t.Fatalf("a postmortem was saved: %v", pm["_status"])
	}
}

// A practice POST without the CSRF token, or with another session's,
// changes nothing.
func TestPracticeFormsWithoutCSRFChangeNothing(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"disk full"`)
	a := signIn(t, cs, nodetest.Token)
	b := signIn(t, cs, nodetest.Token)
	_, pageB, _ := get(t, b, cs.url+"/ui/incidents/INC-1")
	for action, form := range practiceForms() {
		for _, token := range []string{"", csrfOf(t, pageB)} {
			if token != "" {
				form.Set("csrf", token)
			}
			if code, _, _ := post(t, a, cs.url+"/ui/incidents/INC-1/"+action, form); code != http.StatusForbidden {
				t.Errorf("%s with csrf %q: %d, want 403", action, token, code)
			}
		}
	}
	inc := apiGet(t, cs, "/v1/incidents/1")
	if roles, _ := inc["roles"].(map[string]any); len(roles) != 0 || inc["updates"] != nil || inc["impact_started_at"] != nil {
		t.Errorf("forged posts changed the incident: roles %v updates %v impact %v", inc["roles"], inc["updates"], inc["impact_started_at"])
	}
	if pm := apiGet(t, cs, "/v1/incidents/1/postmortem"); pm["_status"] != float64(404) {
		t.Errorf("forged post saved a postmortem")
	}
	if fus, _ := apiGet(t, cs, "/v1/followups?status=all")["followups"].([]any); len(fus) != 0 {
		t.Errorf("forged post added follow-ups: %v", fus)
	}
}

// The follow-ups page lists open ones, filters by owner and status, and its
// close form needs the session's CSRF token.
func TestFollowupsPage(t *testing.T) {
	cs := startConsole(t, true)
	trigger(t, cs, `"disk full"`)
	c := client(t)
	_, page, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	csrf := csrfOf(t, page)
	for _, f := range []url.Values{{"title": {"bob's <b>task</b>"}, "owner": {"bob"}}, {"title": {"alice task"}, "owner": {"alice"}, "due": {"2099-01-02"}}} {
		f.Set("csrf", csrf)
		if code, body, _ := post(t, c, cs.url+"/ui/incidents/INC-1/followup", f); code != http.StatusSeeOther {
			t.Fatalf("add: %d\n%s", code, body)
		}
	}
	_, page, _ = get(t, c, cs.url+"/ui/followups")
	if !strings.Contains(page, "bob&#39;s &lt;b&gt;task&lt;/b&gt;") || !strings.Contains(page, "alice task") || !strings.Contains(page, `href="/ui/followups" aria-current="page"`) {
		t.Fatalf("follow-ups page:\n%s", page)
	}
	_, page, _ = get(t, c, cs.url+"/ui/followups?owner=alice")
	if strings.Contains(page, "task</b>") || strings.Contains(page, "&lt;b&gt;task") || !strings.Contains(page, "alice task") {
		t.Fatalf("owner filter:\n%s", page)
	}
	if code, _, _ := post(t, c, cs.url+"/ui/followups/INC-1-F2/close", url.Values{"status": {"done"}}); code != http.StatusForbidden {
		t.Fatalf("close without csrf: %d", code)
	}
	if fu := apiGet(t, cs, "/v1/followups/INC-1-F2"); fu["status"] != "open" {
		t.Fatalf("close without csrf changed it: %v", fu["status"])
	}
	code, _, h := post(t, c, cs.url+"/ui/followups/INC-1-F2/close", url.Values{"csrf": {csrf}, "status": {"wont_do"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/followups?at=") {
		t.Fatalf("close: %d %q", code, h.Get("Location"))
	}
	if fu := apiGet(t, cs, "/v1/followups/INC-1-F2"); fu["status"] != "wont_do" || fu["closed_by"] != "alice" {
		t.Fatalf("after close: %v", fu)
	}
	_, page, _ = get(t, c, cs.url+"/ui/followups")
	if strings.Contains(page, "alice task") {
		t.Fatal("a closed follow-up is listed as open")
	}
	_, page, _ = get(t, c, cs.url+"/ui/followups?status=wont_do")
	if !strings.Contains(page, "alice task") {
		t.Fatal("status filter does not show the closed one")
	}
	if code, _, _ := get(t, c, cs.url+"/ui/followups?status=bogus"); code != http.StatusBadRequest {
		t.Fatalf("bad status: %d", code)
	}
}

// Overdue follow-ups come first, then the soonest due.
func TestFollowupsOverdueFirst(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	mk := func(id string, due time.Time) learning.Followup {
		return learning.Followup{ID: id, Status: learning.FollowupOpen, Due: due}
	}
	rows := sortFollowups([]learning.Followup{mk("a", now.Add(48*time.Hour)), mk("b", now.Add(-time.Hour)),
		mk("c", now.Add(time.Hour)), mk("d", now.Add(-48*time.Hour))}, now)
	var got []string
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if strings.Join(got, ",") != "d,b,c,a" || !rows[0].Overdue || rows[2].Overdue {
		t.Fatalf("order %v", got)
	}
}

// The maintenance page lists an ad hoc window that is on now.
func TestMaintenancePage(t *testing.T) {
	cs := startConsole(t, true)
	if _, err := cs.node.StartMaintenance(t.Context(), []string{"checkout"}, time.Hour, `db <upgrade>`, "alice", nil); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	_, page, _ := get(t, c, cs.url+"/ui/maintenance")
	if !strings.Contains(page, "on now") || !strings.Contains(page, "db &lt;upgrade&gt;") || !strings.Contains(page, "checkout") {
		t.Fatalf("maintenance page:\n%s", page)
	}
}
