package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify/email"
)

// MailSender sends one status mail (*email.Sender).
type MailSender interface {
	SendStatusMail(ctx context.Context, to, subject, body, id, unsubscribe string) error
}

// Mailer defaults.
const (
	DefaultRate        = 50 // mails per second, all fan-outs together
	DefaultConcurrency = 8  // mails in flight: also the most a failover repeats
	sendAttempts       = 3
	confirmBatch       = 100
)

// MailerOptions configure the leader's subscriber mailer.
type MailerOptions struct {
	Node   *cluster.Node
	Logger *slog.Logger
	// Rate bounds mails per second (confirmations and updates together).
	Rate float64
	// Concurrency is the number of mails in flight, separate from paging:
	// a fan-out to many subscribers never holds up a page.
	Concurrency int
	// BaseURL is the absolute URL links in mails start with when the
	// config has no public_url (this node's HTTP address).
	BaseURL func() string
	// NewSender makes the sender for the active config (default: SMTP per
	// channels.email); nil sender: mail is off.
	NewSender func(cfg *config.Config) (MailSender, error)
}

// Mailer mails confirmation links and public updates to subscribers. It
// runs on the leader only (cluster.Node.OnLeader), woken by the FSM's apply
// watch, never by polling. Every mail is recorded in replicated state: a
// confirmation by subscribe_mailed after it was sent, an update by the
// fan-out cursor after each batch, so a new leader repeats at most one
// batch (Concurrency mails) and skips nobody.
type Mailer struct {
	opts MailerOptions
	fsm  *cluster.FSM
	log  *slog.Logger
	pace *pacer
	// seen: public updates per incident already noticed (touchesPublic).
	seenMu sync.Mutex
	seen   map[uint64]int
}

// NewMailer returns a mailer; register Run with OnLeader.
func NewMailer(o MailerOptions) *Mailer {
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.NewSender == nil {
		o.NewSender = smtpSender
	}
	return &Mailer{opts: o, fsm: o.Node.FSM(), log: o.Logger.With("component", "status-mailer"), pace: &pacer{interval: time.Duration(float64(time.Second) / o.Rate)},
		seen: map[uint64]int{}}
}

func smtpSender(cfg *config.Config) (MailSender, error) {
	if cfg.Channels.Email.SMTP == "" {
		return nil, nil
	}
	return email.New(cfg.Channels.Email, email.Options{})
}

// Run is the leader routine.
func (m *Mailer) Run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	cancel := m.fsm.Watch(func(c cluster.Change) {
		if c.Subscribers || c.All || m.touchesPublic(c.Incidents) {
			signal()
		}
	})
	defer cancel()
	signal()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			m.pass(ctx)
		}
	}
}

// touchesPublic: an entry added a public update to one of the incidents
// it touched. It remembers each incident's count of public updates, so
// alerts arriving on an incident that has public updates do not wake the
// mailer (it would rescan for nothing during an alert storm).
func (m *Mailer) touchesPublic(ids []uint64) bool {
	if len(ids) == 0 {
		return false
	}
	found := false
	m.fsm.ReadIncidents(func(s *incident.State) {
		m.seenMu.Lock()
		defer m.seenMu.Unlock()
		if len(m.seen) > 10000 { // bounded: forgetting costs one extra pass
			m.seen = map[uint64]int{}
		}
		for _, id := range ids {
			if !s.HasPublicUpdate(id) {
				continue
			}
			n := s.PublicUpdateCount(id)
			if n > m.seen[id] {
				m.seen[id] = n
				found = true
			}
		}
	})
	return found
}

func (m *Mailer) pass(ctx context.Context) {
	ac := m.fsm.Config()
	if ac == nil || ac.Config == nil || len(ac.Config.StatusPages) == 0 {
		return
	}
	sender, err := m.opts.NewSender(ac.Config)
	if err != nil || sender == nil {
		if err != nil {
			m.log.Error("status mail is off", "err", err)
		}
		return
	}
	m.confirmations(ctx, ac.Config, sender)
	m.startFanouts(ctx, ac.Config)
	for _, fo := range m.fsm.Fanouts() {
		if ctx.Err() != nil {
			return
		}
		m.runFanout(ctx, ac.Config, sender, fo)
	}
}

// confirmations mails the link to pending subscribers not mailed yet, then
// records that they were (once per subscription; re-subscribing an hour
// later asks again).
func (m *Mailer) confirmations(ctx context.Context, cfg *config.Config, sender MailSender) {
	for ctx.Err() == nil {
		subs := m.fsm.UnmailedConfirmations(confirmBatch)
		if len(subs) == 0 {
			return
		}
		sem := make(chan struct{}, m.opts.Concurrency)
		var wg sync.WaitGroup
		var failed sync.Once
		stop := false
		for _, sub := range subs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := m.sendConfirmation(ctx, cfg, sender, sub); err != nil {
					m.log.Warn("confirmation mail failed", "page", sub.Page, "err", err)
				}
				// Recorded after the send (sent or given up): never mailed twice
				// but for the ones in flight at a leader change.
				if _, err := m.opts.Node.SubmitSubscriber(ctx, cluster.TypeSubscribeMailed, cluster.SubscriberCommand{Page: sub.Page, Email: sub.Email}); err != nil {
					failed.Do(func() { m.log.Warn("record confirmation mail", "err", err); stop = true })
				}
			}()
		}
		wg.Wait()
		if stop {
			return
		}
	}
}

func (m *Mailer) sendConfirmation(ctx context.Context, cfg *config.Config, sender MailSender, sub cluster.Subscriber) error {
	kr := m.fsm.Keyring()
	base := m.base(cfg)
	confirm, err := SignedLink(kr, base, purposeConfirm, sub.Page, sub.Email)
	if err != nil {
		return err
	}
	unsub, err := SignedLink(kr, base, purposeUnsubscribe, sub.Page, sub.Email)
	if err != nil {
		return err
	}
	title := pageTitle(cfg, sub.Page)
	body := fmt.Sprintf("Someone (hopefully you) asked for updates from %s by email.\n\nTo confirm, open this link:\n%s\n\nIf you did not ask, ignore this mail: nothing more is sent unless the link is opened.\n\nUnsubscribe: %s\n",
		title, confirm, unsub)
	id := fmt.Sprintf("status-confirm-%s-%d", sub.Page, sub.CreatedAt.UnixNano())
	return m.send(ctx, sender, sub.Email, "Confirm your subscription to "+title, body, id+"-"+hashEmail(sub.Email), unsub)
}

// startFanouts queues every public update posted within FanoutWindow for
// each page it shows on, once (the start is replicated; a later leader
// sees it and does not queue again).
func (m *Mailer) startFanouts(ctx context.Context, cfg *config.Config) {
	type job struct {
		page, update string
		incident     uint64
	}
	var jobs []job
	now := time.Now()
	cut := now.Add(-cluster.FanoutWindow)
	m.fsm.ReadIncidents(func(s *incident.State) {
		s.EachPublic(cut, func(inc *incident.Incident) {
			if IsDrill(inc) {
				return
			}
			for i := range inc.Updates {
				u := &inc.Updates[i]
				if !u.Public() || u.At.Before(cut) {
					continue
				}
				for _, p := range pagesOf(cfg, inc.Service, u) {
					jobs = append(jobs, job{p, u.ID, inc.ID})
				}
			}
		})
	})
	for _, j := range jobs {
		if m.fsm.HasFanout(j.page, j.update) {
			continue
		}
		if _, err := m.opts.Node.SubmitSubscriber(ctx, cluster.TypeFanoutStart, cluster.SubscriberCommand{Page: j.page, Update: j.update, Incident: j.incident}); err != nil {
			m.log.Warn("queue fan-out", "page", j.page, "update", j.update, "err", err)
			return
		}
	}
}

// pagesOf are the pages showing an update: those with a component on the
// incident's service or named by the update.
func pagesOf(cfg *config.Config, service string, u *incident.Update) []string {
	var out []string
	for _, p := range cfg.StatusPages {
		for _, c := range p.Components {
			_, named := u.Components[c.ID]
			if named || covers(c, []string{service}) {
				out = append(out, p.ID)
				break
			}
		}
	}
	return out
}

// runFanout sends the fan-out batch by batch; after each batch the cursor
// is committed before the next is sent.
func (m *Mailer) runFanout(ctx context.Context, cfg *config.Config, sender MailSender, fo cluster.Fanout) {
	msg, ok := m.updateMail(cfg, fo)
	if !ok { // the incident left the state: nothing to send, finish it
		_, _ = m.opts.Node.SubmitSubscriber(ctx, cluster.TypeFanoutProgress, cluster.SubscriberCommand{Page: fo.Page, Update: fo.Update, Next: fo.Upto + 1})
		return
	}
	kr := m.fsm.Keyring()
	base := m.base(cfg)
	for ctx.Err() == nil {
		batch, next := m.fsm.FanoutBatch(fo.Page, fo.Update, m.opts.Concurrency)
		if next == 0 {
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed error
		for _, sub := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unsub, err := SignedLink(kr, base, purposeUnsubscribe, fo.Page, sub.Email)
				if err == nil {
					body := msg.body + "\nUnsubscribe: " + unsub + "\n"
					err = m.send(ctx, sender, sub.Email, msg.subject, body, "status-"+fo.Page+"-"+fo.Update+"-"+hashEmail(sub.Email), unsub)
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					m.log.Warn("status update mail failed", "page", fo.Page, "update", fo.Update, "err", err)
				}
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return // not recorded: the next leader sends this batch again
		}
		pc := cluster.SubscriberCommand{Page: fo.Page, Update: fo.Update, Next: next}
		if failed != nil {
			pc.Error = failed.Error()
		}
		if _, err := m.opts.Node.SubmitSubscriber(ctx, cluster.TypeFanoutProgress, pc); err != nil {
			m.log.Warn("record fan-out progress", "page", fo.Page, "update", fo.Update, "err", err)
			return
		}
	}
}

type updateMail struct{ subject, body string }

// updateMail is the mail of a fan-out's update: only people's text and
// component names, as on the page.
func (m *Mailer) updateMail(cfg *config.Config, fo cluster.Fanout) (updateMail, bool) {
	p, ok := cfg.StatusPageByID(fo.Page)
	if !ok {
		return updateMail{}, false
	}
	var out updateMail
	found := false
	m.fsm.ReadIncidents(func(s *incident.State) {
		s.EachPublic(time.Time{}, func(inc *incident.Incident) {
			if found || inc.ID != fo.Incident {
				return
			}
			iv, _, ok := incidentView(p, inc)
			if !ok {
				return
			}
			for _, u := range iv.Updates {
				if u.ID == fo.Update {
					found = true
					title := orID(p.Title, p.ID)
					out.subject = fmt.Sprintf("[%s] %s: %s", title, iv.Name, u.Phase)
					out.body = fmt.Sprintf("%s (%s) — %s\n%s\n\n%s\n\nStatus page: %s/status/%s\n",
						iv.Name, iv.Key, u.Phase, u.At.UTC().Format("2 Jan 2006 15:04 UTC"), u.Message, strings.TrimRight(m.base(cfg), "/"), p.ID)
				}
			}
		})
	})
	return out, found
}

// send paces and retries one mail.
func (m *Mailer) send(ctx context.Context, sender MailSender, to, subject, body, id, unsub string) error {
	var err error
	for attempt := 0; attempt < sendAttempts; attempt++ {
		if werr := m.pace.wait(ctx); werr != nil {
			return werr
		}
		if err = sender.SendStatusMail(ctx, to, subject, body, id, unsub); err == nil {
			return nil
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
	}
	return err
}

// base is where readers reach the cluster: the config's public_url (spec
// §5.1), else this node's address.
func (m *Mailer) base(cfg *config.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	if m.opts.BaseURL == nil {
		return ""
	}
	return m.opts.BaseURL()
}

func pageTitle(cfg *config.Config, page string) string {
	if p, ok := cfg.StatusPageByID(page); ok {
		return orID(p.Title, p.ID)
	}
	return page
}

func orID(title, id string) string {
	if title == "" {
		return id
	}
	return title
}

// pacer spaces mails interval apart across all senders.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
