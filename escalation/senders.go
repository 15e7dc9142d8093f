package escalation

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

// ProviderSenders builds the real channel clients from the active config,
// once per config version.
type ProviderSenders struct {
	Email   email.Options
	SMS     sms.Options
	Webhook webhook.Options

	mu      sync.Mutex
	version string
	cache   map[string]notify.Sender
}

// Sender implements Senders.
func (p *ProviderSenders) Sender(cfg *config.Config, version, channel, target string) (notify.Sender, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.version != version || p.cache == nil {
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

func (p *ProviderSenders) build(cfg *config.Config, channel, target string) (notify.Sender, error) {
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

// OutboxSenders keeps every message in a development outbox instead of
// sending it (pagerd serve --dev).
type OutboxSenders struct{ Outbox *outbox.Outbox }

// Sender implements Senders.
func (o OutboxSenders) Sender(_ *config.Config, _, channel, target string) (notify.Sender, error) {
	switch channel {
	case "email", "sms":
		return o.Outbox.Sender(channel), nil
	case "webhook":
		return o.Outbox.WebhookSender(target), nil
	}
	return nil, notify.Permanent(fmt.Errorf("unknown channel %q", channel))
}
