package webhook

import (
	"context"
	"fmt"
	"strconv"
)

// EventIncident is the type of an incident event stream delivery
// (services[].events_to): one timeline entry of an incident.
const EventIncident = "incident.event"

// PostEvent POSTs an already encoded JSON body (an incident.event delivery)
// with the same headers and signature as a page: X-Pagerd-Delivery is id,
// and the signature covers X-Pagerd-Timestamp + "." + body. Errors are
// classified like Send's (notify.IsRetryable, notify.RetryAfter).
func (s *Sender) PostEvent(ctx context.Context, id string, body []byte) error {
	now := s.now()
	if err := s.post(ctx, id, strconv.FormatInt(now.Unix(), 10), body, now); err != nil {
		return fmt.Errorf("webhook %s delivery %s: %w", s.hook.ID, id, err)
	}
	return nil
}
