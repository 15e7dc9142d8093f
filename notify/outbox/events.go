package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pagerd/pagerd/notify"
)

// PostEvent keeps an incident event (services[].events_to) posted to a
// webhook, its body exactly as the real sender would post it, so `serve
// --dev` shows the event stream too.
func (s *sender) PostEvent(_ context.Context, id string, body []byte) error {
	if s.channel != ChannelWebhook || id == "" {
		return notify.Permanent(fmt.Errorf("outbox %s: cannot keep an incident event %q", s.channel, id))
	}
	var head struct {
		Incident struct {
			Key string `json:"key"`
		} `json:"incident"`
	}
	keys := []string{}
	if json.Unmarshal(body, &head) == nil && head.Incident.Key != "" {
		keys = append(keys, head.Incident.Key)
	}
	s.o.add(Message{ID: id, Channel: ChannelWebhook, To: s.hook, Body: string(body), Incidents: keys, Notifications: []string{}})
	return nil
}
