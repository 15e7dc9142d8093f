package channels

import (
	"fmt"
	"testing"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/notify/sms"
	"github.com/pagerd/pagerd/notify/webhook"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]config.Source{{Name: "c.yaml", Data: []byte(`
users: [{id: alice, email: alice@example.com, notify: [{via: email}]}]
policies: [{id: p, steps: [{notify: [user:alice], escalate_after: 5m}]}]
services: [{id: web, policy: p}]
channels:
  email: {smtp: "127.0.0.1:25", from: "pagerd@example.com"}
  sms: {provider: twilio, account_sid: AC1, auth_token: tok, from: "+15550000000", api_base: "http://127.0.0.1:1"}
  webhooks: [{id: chat, url: "http://127.0.0.1:1/hook"}]
`)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Providers builds each channel's real client from the config, once per
// config version, and refuses what the config cannot build for good.
func TestProvidersBuildFromConfigOncePerVersion(t *testing.T) {
	cfg := testConfig(t)
	p := &Providers{}
	for channel, want := range map[string]any{"email": &email.Sender{}, "sms": &sms.Sender{}, "webhook": &webhook.Sender{}} {
		s, err := p.Sender(cfg, "v1", channel, "chat")
		if err != nil {
			t.Fatalf("%s: %v", channel, err)
		}
		if fmt.Sprintf("%T", s) != fmt.Sprintf("%T", want) {
			t.Errorf("%s: sender %T, want %T", channel, s, want)
		}
	}
	a, _ := p.Sender(cfg, "v1", "email", "")
	b, _ := p.Sender(cfg, "v1", "email", "")
	c, _ := p.Sender(cfg, "v2", "email", "")
	if a != b || a == c {
		t.Errorf("email senders: same version reused %v, new version rebuilt %v", a == b, a != c)
	}
	for _, bad := range [][2]string{{"webhook", "missing"}, {"pigeon", ""}} {
		if _, err := p.Sender(cfg, "v2", bad[0], bad[1]); err == nil || notify.IsRetryable(err) {
			t.Errorf("%s %q: err %v, want a permanent error", bad[0], bad[1], err)
		}
	}
}

func TestOutboxKeepsEveryChannel(t *testing.T) {
	o := Outbox{Outbox: outbox.New(outbox.Options{Node: "n1"})}
	for _, ch := range []string{"email", "sms", "webhook"} {
		if s, err := o.Sender(nil, "", ch, "chat"); err != nil || s == nil {
			t.Errorf("%s: %v", ch, err)
		}
	}
	if _, err := o.Sender(nil, "", "pigeon", ""); err == nil || notify.IsRetryable(err) {
		t.Errorf("unknown channel: %v", err)
	}
}

// closingSender records that the providers closed it.
type closingSender struct {
	notify.Sender
	closed bool
}

func (c *closingSender) Close() { c.closed = true }

// A new config version replaces the senders and closes what the old ones
// keep open (an email sender's kept SMTP connections).
func TestProvidersCloseTheSendersOfAReplacedVersion(t *testing.T) {
	cfg := testConfig(t)
	p := &Providers{}
	if _, err := p.Sender(cfg, "v1", "email", ""); err != nil {
		t.Fatal(err)
	}
	old := &closingSender{}
	p.cache["email/"] = old
	if _, err := p.Sender(cfg, "v1", "email", ""); err != nil || old.closed {
		t.Fatalf("same version: closed %v, err %v", old.closed, err)
	}
	if _, err := p.Sender(cfg, "v2", "email", ""); err != nil {
		t.Fatal(err)
	}
	if !old.closed {
		t.Fatal("the v1 sender was not closed when v2 replaced it")
	}
}
