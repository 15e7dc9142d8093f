package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Status page subscribers (spec §5.3 POST /status/{page}/subscribe) and the
// fan-out of public updates to them. Everything here is replicated state:
// a subscriber is pending until it follows the signed link in its
// confirmation mail; confirming gives it a sequence number, and each
// (page, update) fan-out is a cursor over confirmed subscribers in that
// order, advanced by the leader after each batch is sent. A new leader
// resumes at the cursor, so a leader change repeats at most the batch that
// was in flight and skips nobody.

// SubscriberCommand is the body of every subscriber and fan-out command;
// each type reads the fields it needs.
type SubscriberCommand struct {
	Page  string `json:"page"`
	Email string `json:"email,omitempty"`
	// Update is the incident update id (INC-42-U3) of a fan-out.
	Update   string `json:"update,omitempty"`
	Incident uint64 `json:"incident,omitempty"`
	// Next: subscribers with a sequence number below it have been sent the
	// update (fan-out progress).
	Next  uint64 `json:"next,omitempty"`
	Error string `json:"error,omitempty"`
}

// Subscriber is one address subscribed to one status page.
type Subscriber struct {
	Page  string `json:"page"`
	Email string `json:"email"`
	// Seq orders confirmed subscribers for fan-outs (0 while pending).
	Seq         uint64     `json:"seq,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	// ConfirmSentAt is when the confirmation mail went out (nil: it is
	// still to be sent by the leader).
	ConfirmSentAt *time.Time `json:"confirm_sent_at,omitempty"`
}

// Confirmed reports whether the subscriber followed its confirmation link.
func (s *Subscriber) Confirmed() bool { return s.ConfirmedAt != nil }

// Fanout is the mailing of one public update to one page's confirmed
// subscribers: those with Seq in [Next, Upto] are still to be sent.
type Fanout struct {
	Page      string    `json:"page"`
	Update    string    `json:"update"`
	Incident  uint64    `json:"incident"`
	Upto      uint64    `json:"upto"`
	Next      uint64    `json:"next"`
	StartedAt time.Time `json:"started_at"`
	Errors    int       `json:"errors,omitempty"`
}

// Done reports whether every subscriber in the fan-out has been sent.
func (f *Fanout) Done() bool { return f.Next > f.Upto }

// FanoutKey identifies a fan-out.
func FanoutKey(page, update string) string { return page + " " + update }

const (
	// subscriberPendingKeep: an unconfirmed address is forgotten after this.
	subscriberPendingKeep = 7 * 24 * time.Hour
	// confirmResendAfter: subscribing again while pending re-sends the
	// confirmation only after this long (no mail bombing through us).
	confirmResendAfter = time.Hour
	// fanoutKeep: finished fan-outs are remembered this long, longer than
	// the window in which the leader starts fan-outs (FanoutWindow).
	fanoutKeep = 7 * 24 * time.Hour
	// FanoutWindow: only public updates posted this recently are mailed (a
	// leader starting on an old log does not mail old news).
	FanoutWindow = 24 * time.Hour
	// maxSubscribers bounds the replicated list (pending and confirmed).
	maxSubscribers = 200_000
)

// subState is the replicated subscriber state.
type subState struct {
	Seq     uint64                            `json:"seq"`
	Pages   map[string]map[string]*Subscriber `json:"pages,omitempty"` // page → email → subscriber
	Fanouts map[string]*Fanout                `json:"fanouts,omitempty"`
	count   int
	// order is each page's confirmed subscribers by Seq (rebuilt on
	// restore, not serialised).
	order map[string][]*Subscriber
}

func (s *subState) rebuild() {
	s.order, s.count = map[string][]*Subscriber{}, 0
	for page, byEmail := range s.Pages {
		for _, sub := range byEmail {
			s.count++
			if sub.Confirmed() {
				s.order[page] = append(s.order[page], sub)
			}
		}
		sort.Slice(s.order[page], func(i, j int) bool { return s.order[page][i].Seq < s.order[page][j].Seq })
	}
}

func isSubscriberType(t CommandType) bool {
	switch t {
	case TypeSubscribe, TypeSubscribeConfirm, TypeUnsubscribe, TypeSubscribeMailed, TypeFanoutStart, TypeFanoutProgress:
		return true
	}
	return false
}

// applySubscriberCommand runs under the FSM lock. Subscribing an address
// that is already subscribed changes nothing (the API answers alike).
func (f *FSM) applySubscriberCommand(now time.Time, t CommandType, body []byte) Result {
	var sc SubscriberCommand
	if err := json.Unmarshal(body, &sc); err != nil {
		return Result{Err: fmt.Errorf("decode %s: %w", t, err)}
	}
	if sc.Page == "" {
		return Result{Err: fmt.Errorf("%w: %s: page is required", incident.ErrInvalid, t)}
	}
	s := &f.subs
	if s.Pages == nil {
		s.Pages, s.Fanouts, s.order = map[string]map[string]*Subscriber{}, map[string]*Fanout{}, map[string][]*Subscriber{}
	}
	switch t {
	case TypeSubscribe:
		return s.subscribe(now, sc)
	case TypeSubscribeConfirm:
		return s.confirm(now, sc)
	case TypeUnsubscribe:
		return s.unsubscribe(sc)
	case TypeSubscribeMailed:
		if sub := s.Pages[sc.Page][sc.Email]; sub != nil && sub.ConfirmSentAt == nil {
			at := now
			sub.ConfirmSentAt = &at
		}
		return Result{Value: true}
	case TypeFanoutStart:
		return s.fanoutStart(now, sc)
	case TypeFanoutProgress:
		fo := s.Fanouts[FanoutKey(sc.Page, sc.Update)]
		if fo == nil || sc.Next <= fo.Next { // a stale leader's late commit changes nothing
			return Result{Value: false}
		}
		fo.Next = sc.Next
		if sc.Error != "" {
			fo.Errors++
		}
		return Result{Value: true}
	}
	return Result{Err: fmt.Errorf("%w: type %d", errUnknownCommand, t)}
}

func (s *subState) subscribe(now time.Time, sc SubscriberCommand) Result {
	if sc.Email == "" {
		return Result{Err: fmt.Errorf("%w: email is required", incident.ErrInvalid)}
	}
	s.prunePending(now)
	byEmail := s.Pages[sc.Page]
	if sub := byEmail[sc.Email]; sub != nil {
		if !sub.Confirmed() && sub.ConfirmSentAt != nil && now.Sub(*sub.ConfirmSentAt) >= confirmResendAfter {
			sub.ConfirmSentAt = nil // the leader mails the link again
		}
		return Result{Value: false}
	}
	if s.count >= maxSubscribers {
		return Result{Value: false} // same answer; nothing stored
	}
	if byEmail == nil {
		byEmail = map[string]*Subscriber{}
		s.Pages[sc.Page] = byEmail
	}
	byEmail[sc.Email] = &Subscriber{Page: sc.Page, Email: sc.Email, CreatedAt: now}
	s.count++
	return Result{Value: true}
}

func (s *subState) confirm(now time.Time, sc SubscriberCommand) Result {
	sub := s.Pages[sc.Page][sc.Email]
	if sub == nil {
		return Result{Err: fmt.Errorf("%w: no subscription of that address to page %q (it expired or was cancelled); subscribe again", incident.ErrNotFound, sc.Page)}
	}
	if sub.Confirmed() {
		return Result{Value: false}
	}
	s.Seq++
	at := now
	sub.Seq, sub.ConfirmedAt = s.Seq, &at
	s.order[sc.Page] = append(s.order[sc.Page], sub)
	return Result{Value: true}
}

func (s *subState) unsubscribe(sc SubscriberCommand) Result {
	sub := s.Pages[sc.Page][sc.Email]
	if sub == nil {
		return Result{Value: false}
	}
	delete(s.Pages[sc.Page], sc.Email)
	s.count--
	if sub.Confirmed() {
		list := s.order[sc.Page]
		i := sort.Search(len(list), func(i int) bool { return list[i].Seq >= sub.Seq })
		if i < len(list) && list[i] == sub {
			s.order[sc.Page] = append(list[:i:i], list[i+1:]...)
		}
	}
	return Result{Value: true}
}

func (s *subState) prunePending(now time.Time) {
	for _, byEmail := range s.Pages {
		for email, sub := range byEmail {
			if !sub.Confirmed() && now.Sub(sub.CreatedAt) > subscriberPendingKeep {
				delete(byEmail, email)
				s.count--
			}
		}
	}
}

func (s *subState) fanoutStart(now time.Time, sc SubscriberCommand) Result {
	for k, fo := range s.Fanouts {
		if now.Sub(fo.StartedAt) > fanoutKeep {
			delete(s.Fanouts, k)
		}
	}
	key := FanoutKey(sc.Page, sc.Update)
	if _, ok := s.Fanouts[key]; ok || sc.Update == "" {
		return Result{Value: false}
	}
	// Upto is fixed now: an address confirmed after the update was queued
	// does not receive it.
	s.Fanouts[key] = &Fanout{Page: sc.Page, Update: sc.Update, Incident: sc.Incident, Upto: s.Seq, Next: 1, StartedAt: now}
	return Result{Value: true}
}

func (f *FSM) snapshotSubscribers() *subState {
	if f.subs.Pages == nil {
		return nil
	}
	// Subscribers and fan-outs change in place under the lock, so the
	// snapshot takes copies (small: a few hundred bytes per subscriber).
	out := &subState{Seq: f.subs.Seq, Pages: make(map[string]map[string]*Subscriber, len(f.subs.Pages)), Fanouts: make(map[string]*Fanout, len(f.subs.Fanouts))}
	for page, byEmail := range f.subs.Pages {
		cp := make(map[string]*Subscriber, len(byEmail))
		for e, sub := range byEmail {
			v := *sub
			cp[e] = &v
		}
		out.Pages[page] = cp
	}
	for k, fo := range f.subs.Fanouts {
		v := *fo
		out.Fanouts[k] = &v
	}
	return out
}

func (f *FSM) restoreSubscribers(s *subState) {
	f.subs = subState{}
	if s != nil {
		f.subs = *s
		if f.subs.Fanouts == nil {
			f.subs.Fanouts = map[string]*Fanout{}
		}
		if f.subs.Pages == nil {
			f.subs.Pages = map[string]map[string]*Subscriber{}
		}
		f.subs.rebuild()
	}
}

// Subscriber returns a copy of the subscription of email to page.
func (f *FSM) Subscriber(page, email string) (Subscriber, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if sub := f.subs.Pages[page][email]; sub != nil {
		return *sub, true
	}
	return Subscriber{}, false
}

// SubscriberCounts are the confirmed and pending subscribers of page.
func (f *FSM) SubscriberCounts(page string) (confirmed, pending int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	confirmed = len(f.subs.order[page])
	return confirmed, len(f.subs.Pages[page]) - confirmed
}

// UnmailedConfirmations are pending subscribers whose confirmation mail is
// still to be sent, at most limit, in a stable order.
func (f *FSM) UnmailedConfirmations(limit int) []Subscriber {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []Subscriber
	for _, byEmail := range f.subs.Pages {
		for _, sub := range byEmail {
			if !sub.Confirmed() && sub.ConfirmSentAt == nil {
				out = append(out, *sub)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Page != out[j].Page {
			return out[i].Page < out[j].Page
		}
		return out[i].Email < out[j].Email
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Fanouts are copies of the fan-outs not yet done.
func (f *FSM) Fanouts() []Fanout {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []Fanout
	for _, fo := range f.subs.Fanouts {
		if !fo.Done() {
			out = append(out, *fo)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].StartedAt.Before(out[j].StartedAt) || (out[i].StartedAt.Equal(out[j].StartedAt) && out[i].Update < out[j].Update)
	})
	return out
}

// HasFanout reports whether a fan-out of update to page was ever started
// (within fanoutKeep).
func (f *FSM) HasFanout(page, update string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.subs.Fanouts[FanoutKey(page, update)]
	return ok
}

// FanoutBatch returns the next (at most n) confirmed subscribers of a
// fan-out, from its cursor on, in Seq order, and the cursor after them.
func (f *FSM) FanoutBatch(page, update string, n int) ([]Subscriber, uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fo := f.subs.Fanouts[FanoutKey(page, update)]
	if fo == nil || fo.Done() {
		return nil, 0
	}
	list := f.subs.order[page]
	i := sort.Search(len(list), func(i int) bool { return list[i].Seq >= fo.Next })
	var out []Subscriber
	next := fo.Upto + 1
	for ; i < len(list) && list[i].Seq <= fo.Upto; i++ {
		if len(out) == n {
			next = list[i].Seq
			break
		}
		out = append(out, *list[i])
	}
	return out, next
}

// SubmitSubscriber commits one subscriber or fan-out command of type t and
// returns its apply value (for subscribe and confirm: whether it changed
// anything).
func (n *Node) SubmitSubscriber(ctx context.Context, t CommandType, sc SubscriberCommand) (bool, error) {
	if !isSubscriberType(t) {
		return false, fmt.Errorf("%s is not a subscriber command", t)
	}
	v, err := n.Submit(ctx, t, sc)
	changed, _ := v.(bool)
	return changed, err
}
