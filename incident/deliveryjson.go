package incident

import (
	"bytes"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/internal/jsonenc"
)

// AppendJSON appends d as json.Marshal(d) encodes it, byte for byte
// (TestDeliveryJSONMatchesMarshal, FuzzDeliveryJSONMatchesMarshal): the
// leader commits a delivery for every page's outcome and for the holds of
// a storm, each item once per page. ok is false when a time cannot be
// written as RFC 3339; the caller then takes json.Marshal and its error.
func (d *Delivery) AppendJSON(dst []byte) (out []byte, ok bool) {
	if d.Items == nil {
		return append(dst, `{"items":null}`...), true
	}
	dst = append(dst, `{"items":[`...)
	for i := range d.Items {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, ok = d.Items[i].appendJSON(dst); !ok {
			return dst, false
		}
	}
	return append(dst, "]}"...), true
}

func (it *DeliveryItem) appendJSON(dst []byte) ([]byte, bool) {
	dst = append(dst, `{"incident":`...)
	dst = strconv.AppendUint(dst, it.Incident, 10)
	dst = append(dst, `,"notification":`...)
	dst = jsonenc.AppendString(dst, it.Notification)
	dst = append(dst, `,"attempt":`...)
	dst = strconv.AppendInt(dst, int64(it.Attempt), 10)
	dst = append(dst, `,"outcome":`...)
	dst = jsonenc.AppendString(dst, it.Outcome)
	var ok bool
	if it.RetryAt != nil {
		dst = append(dst, `,"retry_at":`...)
		if dst, ok = appendJSONTime(dst, *it.RetryAt); !ok {
			return dst, false
		}
	}
	if it.HeldUntil != nil {
		dst = append(dst, `,"held_until":`...)
		if dst, ok = appendJSONTime(dst, *it.HeldUntil); !ok {
			return dst, false
		}
	}
	for _, f := range [...]struct{ key, v string }{{`,"error":`, it.Error}, {`,"provider_id":`, it.ProviderID}, {`,"summary":`, it.Summary}} {
		if f.v != "" {
			dst = append(dst, f.key...)
			dst = jsonenc.AppendString(dst, f.v)
		}
	}
	return append(dst, '}'), true
}

// ParseDeliveryJSON reads a delivery body in the form AppendJSON writes and
// reports false for anything else, which the caller decodes strictly; what
// it accepts it reads to the very delivery the strict decoder gives
// (FuzzParseDeliveryJSONAgreesWithStrict). Every node decodes every
// delivery.
func ParseDeliveryJSON(data []byte) (*Delivery, bool) {
	p := eventParser{b: data}
	d := &Delivery{}
	if !p.lit(`{"items":`) || !p.deliveryItems(&d.Items) || !p.lit("}") || p.i != len(p.b) {
		return nil, false
	}
	return d, true
}

// deliveryItems reads the items into a slice of the size the body
// announces: a storm's hold and summary deliveries carry one item per
// page, and growing from empty copied them about twice. Every item starts
// with the key, which the body holds nowhere else (in a string its quotes
// would be escaped).
func (p *eventParser) deliveryItems(out *[]DeliveryItem) bool {
	*out = make([]DeliveryItem, 0, bytes.Count(p.b[p.i:], itemStart))
	var prev DeliveryItem
	return p.array(func() bool {
		var it DeliveryItem
		if !p.deliveryItem(&it, &prev) {
			return false
		}
		*out = append(*out, it)
		prev = it
		return true
	})
}

var itemStart = []byte(`{"incident":`)

// deliveryItem reads one item. Its summary and provider ids are the
// previous item's strings when equal: a summary's outcome carries the
// same two for every page it bundles, and the state keeps them on each
// notification.
func (p *eventParser) deliveryItem(it, prev *DeliveryItem) bool {
	var n int64
	if !p.lit("{") || !p.key("incident", true) || !p.uint(&it.Incident) ||
		!p.key("notification", false) || !p.str(&it.Notification) ||
		!p.key("attempt", false) || !p.int(&n) ||
		!p.key("outcome", false) || !p.str(&it.Outcome) {
		return false
	}
	it.Attempt = int(n)
	if p.key("retry_at", false) && !p.timePtr(&it.RetryAt) {
		return false
	}
	if p.key("held_until", false) && !p.timePtr(&it.HeldUntil) {
		return false
	}
	if p.key("error", false) && !p.str(&it.Error) {
		return false
	}
	if p.key("provider_id", false) && !p.strOr(&it.ProviderID, prev.ProviderID) {
		return false
	}
	if p.key("summary", false) && !p.strOr(&it.Summary, prev.Summary) {
		return false
	}
	return p.lit("}")
}

// uint reads a canonical unsigned number that fits a uint64.
func (p *eventParser) uint(out *uint64) bool {
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	if j == p.i || (p.b[p.i] == '0' && j-p.i > 1) {
		return false
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:j]), 10, 64)
	if err != nil {
		return false
	}
	*out, p.i = n, j
	return true
}

// timePtr reads a quoted time into a new *time.Time (null is left to the
// strict decoder).
func (p *eventParser) timePtr(out **time.Time) bool {
	var t time.Time
	if !p.timestamp(&t, false) {
		return false
	}
	*out = &t
	return true
}
