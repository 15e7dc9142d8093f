package web

import (
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
