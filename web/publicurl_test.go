package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/notify/channels"
	"github.com/pagerd/pagerd/notify/outbox"
)

// TestMailedLinkUsesPublicURL: with public_url set, the sign-in link in the
// mail is built from it, whatever Host the request named: a requester must
// not make pagerd mail someone a link (with its secret) to their own host.
func TestMailedLinkUsesPublicURL(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Config: testConfig + "public_url: https://pager.example.com/\n"})
	box := outbox.New(outbox.Options{Node: "t1", EmailFrom: "pagerd@example.com"})
	mux := http.NewServeMux()
	mux.Handle("/ui/", New(Options{Node: n.Node, Mailer: channels.Outbox{Outbox: box}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/ui/login/mail", strings.NewReader(url.Values{"who": {"bob"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	msgs := box.Messages(0)
	if len(msgs) != 1 {
		t.Fatalf("answer %d, mails %+v", resp.StatusCode, msgs)
	}
	if !strings.Contains(msgs[0].Body, "https://pager.example.com/ui/login/link?t=") || strings.Contains(msgs[0].Body, "evil.example") {
		t.Fatalf("sign-in link not built from public_url:\n%s", msgs[0].Body)
	}
}

// postMailAs asks for a sign-in link for bob with the request's Host set to
// host, and answers the status and page.
func postMailAs(t *testing.T, cs *console, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, cs.url+"/ui/login/mail", strings.NewReader(url.Values{"who": {"bob"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = host
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNoPublicURLNoMailedLink: without public_url the Host header is never
// made into a link. Asking for one is refused with the reason and the token
// way, nothing is mailed, the sign-in page says so, and token sign-in works.
func TestNoPublicURLNoMailedLink(t *testing.T) {
	cs := startConsole(t, false)
	code, page := postMailAs(t, cs, "evil.example")
	if code != http.StatusForbidden || !strings.Contains(page, "no public_url") || !strings.Contains(page, "API token") {
		t.Fatalf("link request without public_url: %d\n%s", code, page)
	}
	if cs.box.Len() != 0 {
		t.Fatalf("mailed without public_url: %+v", cs.box.Messages(0))
	}
	_, page, _ = get(t, client(t), cs.url+"/ui/login")
	if !strings.Contains(page, `id="mail-off"`) || strings.Contains(page, `id="mail-submit"`) || !strings.Contains(page, `id="token-submit"`) {
		t.Fatalf("sign-in page without public_url:\n%s", page)
	}
	signIn(t, cs, nodetest.Token)
}

// TestDevMailedLinkUsesListenAddress: under --dev without public_url the
// link points at the node's own listen address, never at the Host header.
func TestDevMailedLinkUsesListenAddress(t *testing.T) {
	cs := startConsoleWith(t, consoleOptions{dev: true, devURL: "http://127.0.0.1:8080"})
	if code, page := postMailAs(t, cs, "evil.example"); code != http.StatusOK {
		t.Fatalf("--dev link request: %d\n%s", code, page)
	}
	msgs := cs.box.Messages(0)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "http://127.0.0.1:8080/ui/login/link?t=") || strings.Contains(msgs[0].Body, "evil.example") {
		t.Fatalf("--dev sign-in link not built from the listen address: %+v", msgs)
	}
}
