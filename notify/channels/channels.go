// Package channels builds the senders of each notification channel from the
// active config: the real provider clients (Providers) or the development
// outbox (Outbox). The escalation engine asks it for a sender per channel
// and target; it knows nothing of SMTP, Twilio or HTTP itself.
package channels

import (
	"fmt"
	"sync"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/notify/sms"
	"github.com/pagerd/pagerd/notify/webhook"
)

// Providers builds the real channel clients from the active config, once
// per config version and channel target. The options carry what the config
// does not (timeouts, HTTP clients in tests).
type Providers struct {
	Email   email.Options
	SMS     sms.Options
	Webhook webhook.Options

	mu      sync.Mutex
	version string
	cache   map[string]notify.Sender
}

// Sender returns the sender of channel ("email", "sms", or "webhook" with
// the webhook id as target) under config version; a channel the config
// cannot build is a permanent error (notify.Permanent).
func (p *Providers) Sender(cfg *config.Config, version, channel, target string) (notify.Sender, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.version != version || p.cache == nil {
		closeAll(p.cache)
		p.version, p.cache = version, map[string]notify.Sender{}
	}
	key := channel + "/" + target
	if s, ok := p.cache[key]; ok {
		return s, nil
	}
	s, err := p.build(cfg, channel, target)
	if err != nil {
		// A channel the config cannot build will not build on retry either.
		return nil, notify.Permanent(err)
	}
	p.cache[key] = s
	return s, nil
}

// closeAll ends what the senders of a replaced config keep open (an email
// sender's kept SMTP connections); a send still running on one finishes.
func closeAll(cache map[string]notify.Sender) {
	for _, s := range cache {
		if c, ok := s.(interface{ Close() }); ok {
			c.Close()
		}
	}
}

func (p *Providers) build(cfg *config.Config, channel, target string) (notify.Sender, error) {
	switch channel {
	case "email":
		return email.New(cfg.Channels.Email, p.Email)
	case "sms":
		return sms.New(cfg.Channels.SMS, p.SMS)
	case "webhook":
		for _, h := range cfg.Channels.Webhooks {
			if h.ID == target {
				return webhook.New(h, p.Webhook)
			}
		}
		return nil, fmt.Errorf("webhook %q is not in the active config", target)
	}
	return nil, fmt.Errorf("unknown channel %q", channel)
}

// Outbox keeps every message in a development outbox instead of sending it
// (pagerd serve --dev).
type Outbox struct{ Outbox *outbox.Outbox }

// Sender returns the outbox's sender of channel.
func (o Outbox) Sender(_ *config.Config, _, channel, target string) (notify.Sender, error) {
	switch channel {
	case "email", "sms":
		return o.Outbox.Sender(channel), nil
	case "webhook":
		return o.Outbox.WebhookSender(target), nil
	}
	return nil, notify.Permanent(fmt.Errorf("unknown channel %q", channel))
}
