package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/webhook"
)

// Channel names, as in the config and in Message.Channel.
const (
	ChannelEmail   = "email"
	ChannelSMS     = "sms"
	ChannelWebhook = "webhook"
)

// Defaults of Options.
const (
	DefaultMax       = 10000
	DefaultEmailFrom = "pagerd@localhost"
)

// Options configure an Outbox; the zero value is usable.
type Options struct {
	// Node is the id of this node, shown in every message.
	Node string
	// Now stamps each message; default time.Now.
	Now func() time.Time
	// Max is how many messages are kept; default DefaultMax. When full the
	// oldest is dropped and counted (Dropped).
	Max int
	// EmailFrom is the From address whose domain the email Message-ID
	// uses, as channels.email.from does for the real sender; default
	// DefaultEmailFrom. An address without a domain gives "localhost".
	EmailFrom string
	// Reply answers a reply typed into the outbox page: m is the message
	// replied to, text what was typed ("3a", "ack"). It returns what the
	// person would be told back. nil makes POST /dev/outbox/reply answer
	// 501.
	Reply func(ctx context.Context, m Message, text string) (answer string, err error)
}

// Message is one kept message. Its JSON is read by the chaos test suite; do
// not change field names or meaning.
type Message struct {
	// Seq numbers messages from 1 in the order they were kept.
	Seq uint64 `json:"seq"`
	// ID is the notification id (notify.Message.ID), also of a summary.
	ID      string `json:"id"`
	Channel string `json:"channel"` // "email" | "sms" | "webhook"
	// To is the email address, the phone number or the webhook id.
	To string `json:"to"`
	// User is notify.Message.User.ID ("" for webhooks, which target no person).
	User string `json:"user"`
	// Subject is the email Subject; "" for SMS and webhooks.
	Subject string `json:"subject"`
	// Body is the email body, the SMS text, or a one-line JSON summary of
	// the webhook event.
	Body      string `json:"body"`
	ReplyTo   string `json:"reply_to"`   // notify.Message.ReplyTo
	ReplyCode string `json:"reply_code"` // notify.Message.ReplyCode
	// Incidents are the incident keys ("INC-42"): every bundled one for a
	// summary, else the paged one. Never null.
	Incidents []string `json:"incidents"`
	// Notifications are the notification ids this message stands for: a
	// summary's notify.Message.Bundled when set, else [ID]. Never null.
	Notifications []string `json:"notifications"`
	Step          int      `json:"step"`
	Loop          int      `json:"loop"`
	Summary       bool     `json:"summary"`
	Node          string   `json:"node"`
	// At is when the message was kept, UTC (RFC 3339 with nanoseconds in
	// JSON).
	At time.Time `json:"at"`
}

// clone returns m with its own slices, so callers cannot alter the outbox.
func (m Message) clone() Message {
	m.Incidents = append([]string{}, m.Incidents...)
	m.Notifications = append([]string{}, m.Notifications...)
	return m
}

// Outbox keeps messages in a bounded ring. Safe for concurrent use.
type Outbox struct {
	node   string
	now    func() time.Time
	max    int
	domain string
	reply  func(ctx context.Context, m Message, text string) (string, error)

	mu      sync.Mutex
	ring    []Message // ring[(head+i)%len(ring)] is the i-th oldest kept message
	head    int
	seq     uint64 // last assigned
	dropped uint64
}

// New returns an empty Outbox.
func New(opts Options) *Outbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.EmailFrom == "" {
		opts.EmailFrom = DefaultEmailFrom
	}
	return &Outbox{
		node:   opts.Node,
		now:    opts.Now,
		max:    opts.Max,
		domain: fromDomain(opts.EmailFrom),
		reply:  opts.Reply,
	}
}

// fromDomain is the domain of a From address, or "localhost".
func fromDomain(from string) string {
	addr := from
	if a, err := mail.ParseAddress(from); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return "localhost"
	}
	return addr[at+1:]
}

// Sender returns the sender for channel "email", "sms" or "webhook" (the
// latter records an empty To; use WebhookSender to name the webhook). Any
// other channel is a wiring bug and panics.
func (o *Outbox) Sender(channel string) notify.Sender {
	switch channel {
	case ChannelEmail, ChannelSMS, ChannelWebhook:
		return &sender{o: o, channel: channel}
	}
	panic(fmt.Sprintf("outbox: unknown channel %q (want email, sms or webhook)", channel))
}

// WebhookSender returns the sender standing in for the configured webhook
// id (channels.webhooks[].id); its messages have To = id.
func (o *Outbox) WebhookSender(id string) notify.Sender {
	return &sender{o: o, channel: ChannelWebhook, hook: id}
}

type sender struct {
	o       *Outbox
	channel string
	hook    string
}

// Send keeps m. It fails, permanently, only for a message the real sender
// would refuse before sending: no message, no id, or (email, SMS) no
// address or phone number. It ignores ctx: keeping a message cannot hang.
func (s *sender) Send(_ context.Context, m *notify.Message) (notify.Receipt, error) {
	if m == nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("outbox %s: nil message", s.channel))
	}
	if m.ID == "" {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("outbox %s: message has no id", s.channel))
	}
	rec := Message{
		ID: m.ID, Channel: s.channel, User: m.User.ID,
		ReplyTo: m.ReplyTo, ReplyCode: m.ReplyCode,
		Incidents: incidentKeys(m), Notifications: []string{m.ID},
		Step: m.Step, Loop: m.Loop, Summary: m.IsSummary(),
	}
	if m.IsSummary() && len(m.Bundled) > 0 {
		rec.Notifications = append([]string{}, m.Bundled...)
	}
	switch s.channel {
	case ChannelEmail:
		if strings.TrimSpace(m.User.Email) == "" {
			return notify.Receipt{}, notify.Permanent(fmt.Errorf("outbox email %s: user %q has no email address", m.ID, m.User.ID))
		}
		rec.To = m.User.Email
		rec.Subject = notify.EmailSubject(m)
		rec.Body = notify.EmailBody(m)
	case ChannelSMS:
		if strings.TrimSpace(m.User.Phone) == "" {
			return notify.Receipt{}, notify.Permanent(fmt.Errorf("outbox sms %s: user %q has no phone number", m.ID, m.User.ID))
		}
		rec.To = m.User.Phone
		rec.Body = notify.SMSBody(m)
	case ChannelWebhook:
		rec.To = s.hook
		// One instant for the event's sent_at and the outbox's at.
		rec.At = s.o.now().UTC()
		rec.Body = webhookBody(m, rec.At)
	}
	seq := s.o.add(rec)
	switch s.channel {
	case ChannelEmail:
		return notify.Receipt{ProviderID: "<" + email.MessageID(m.ID, s.o.domain) + ">"}, nil
	case ChannelSMS:
		return notify.Receipt{ProviderID: "SMdev" + strconv.FormatUint(seq, 10)}, nil
	}
	return notify.Receipt{ProviderID: m.ID}, nil
}

// add stamps rec with the next seq, the node and the time, keeps it
// (dropping the oldest when full) and returns its seq.
func (o *Outbox) add(rec Message) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	rec.Seq = o.seq
	rec.Node = o.node
	if rec.At.IsZero() {
		rec.At = o.now().UTC()
	}
	if len(o.ring) < o.max {
		o.ring = append(o.ring, rec)
	} else { // full: overwrite the oldest
		o.ring[o.head] = rec
		o.head = (o.head + 1) % len(o.ring)
		o.dropped++
	}
	return rec.Seq
}

// incidentKeys names the paged incident, or every bundled one of a summary.
func incidentKeys(m *notify.Message) []string {
	incs := m.Summary
	if len(incs) == 0 {
		incs = []*incident.Incident{m.Incident}
	}
	keys := []string{}
	for _, inc := range incs {
		if inc != nil {
			keys = append(keys, keyOf(inc))
		}
	}
	return keys
}

func keyOf(inc *incident.Incident) string {
	if inc.Key != "" {
		return inc.Key
	}
	return incident.KeyFor(inc.ID)
}

// webhookBody is the body the real webhook sender would post for m at now
// (webhook.EventBody): the whole event, byte for byte.
func webhookBody(m *notify.Message, now time.Time) string {
	b, err := webhook.EventBody(m, now)
	if err != nil {
		return fmt.Sprintf("webhook %s: %v", m.ID, err)
	}
	return string(b)
}

// Len is how many messages are kept now (at most Options.Max).
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ring)
}

// Dropped is how many messages were dropped to stay within Options.Max.
func (o *Outbox) Dropped() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// Messages returns copies of the kept messages with Seq > since, oldest
// first. Messages(0) returns them all.
func (o *Outbox) Messages(since uint64) []Message {
	msgs, _ := o.snapshot(since, "")
	return msgs
}

// snapshot returns copies of the kept messages with Seq > since (and on
// channel, unless it is ""), oldest first, and the dropped count, read
// under one lock.
func (o *Outbox) snapshot(since uint64, channel string) ([]Message, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []Message{}
	if len(o.ring) == 0 {
		return out, o.dropped
	}
	// Seqs in the ring are consecutive, so the first wanted index is
	// computed rather than searched.
	first := o.ring[o.head].Seq
	start := 0
	if since >= first {
		if since-first+1 >= uint64(len(o.ring)) {
			return out, o.dropped
		}
		start = int(since - first + 1)
	}
	for i := start; i < len(o.ring); i++ {
		m := o.ring[(o.head+i)%len(o.ring)]
		if channel == "" || m.Channel == channel {
			out = append(out, m.clone())
		}
	}
	return out, o.dropped
}

// errNoMessage is returned by lookup for a seq not (or no longer) kept.
var errNoMessage = errors.New("no message")

// lookup returns a copy of the kept message with this seq.
func (o *Outbox) lookup(seq uint64) (Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ring) == 0 {
		return Message{}, errNoMessage
	}
	first := o.ring[o.head].Seq
	if seq < first || seq-first >= uint64(len(o.ring)) {
		return Message{}, errNoMessage
	}
	return o.ring[(o.head+int(seq-first))%len(o.ring)].clone(), nil
}

// Keep records an email that is not a page, such as the confirmation
// answering an email reply, so --dev shows it instead of sending it.
func (o *Outbox) Keep(to, subject, body, inReplyTo string) uint64 {
	return o.add(Message{ID: "reply-to-" + inReplyTo, Channel: ChannelEmail, To: to, Subject: subject, Body: body,
		Incidents: []string{}, Notifications: []string{}})
}
