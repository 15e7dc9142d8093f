package escalation

import (
	"fmt"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// maxOutcomeItems bounds the delivery items of one outcome commit.
const maxOutcomeItems = 1024

// queueOutcome records the outcome of a job (a send, or a page that cannot
// be sent) after the fact. Outcomes are committed by one committer at a time:
// every outcome that arrives while a commit is in flight goes into the
// next, as one delivery command, so sends that finish together cost one
// command and no goroutine each (issue 18). The job's notifications stay in
// flight until their outcome is committed (or the term ends), so nothing is
// sent twice meanwhile.
func (t *term) queueOutcome(j job) {
	t.mu.Lock()
	t.outcomes = append(t.outcomes, j)
	if t.outcomesBusy {
		t.mu.Unlock()
		return
	}
	t.outcomesBusy = true
	t.mu.Unlock()
	if t.e.opts.synchronous {
		t.commitOutcomes()
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.commitOutcomes()
	}()
}

// commitOutcomes commits the queued outcomes, a batch at a time, until
// none is left.
func (t *term) commitOutcomes() {
	for {
		t.mu.Lock()
		jobs, items := t.takeOutcomes()
		if len(jobs) == 0 {
			t.outcomesBusy = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		t.commit(items)
		t.release(jobs...)
	}
}

// takeOutcomes takes queued jobs up to maxOutcomeItems items (at least
// one job). Call with t.mu held.
func (t *term) takeOutcomes() ([]job, []incident.DeliveryItem) {
	n, size := 0, 0
	for n < len(t.outcomes) && (n == 0 || size+len(t.outcomes[n].items) <= maxOutcomeItems) {
		size += len(t.outcomes[n].items)
		n++
	}
	jobs := t.outcomes[:n:n]
	t.outcomes = t.outcomes[n:]
	if len(t.outcomes) == 0 {
		t.outcomes = nil
	}
	items := make([]incident.DeliveryItem, 0, size)
	for _, j := range jobs {
		items = append(items, j.items...)
	}
	return jobs, items
}

// commit records outcomes in the replicated state. A failed commit is
// retried while this node leads: sending the pages again would duplicate
// them. If leadership ends first, the next leader finds the notifications
// queued and sends them again (the one duplicate spec §4 allows for a page
// in flight). Each item applies once (its attempt number), so a retried
// commit that had applied changes nothing.
func (t *term) commit(items []incident.DeliveryItem) {
	wait := 100 * time.Millisecond
	for {
		_, err := t.e.opts.Store.SubmitDelivery(t.ctx, &incident.Delivery{Items: items})
		if err == nil || t.ctx.Err() != nil {
			return
		}
		t.e.log.Warn("commit delivery outcomes; retrying", "items", len(items), "err", fmt.Errorf("%s: %w", items[0].Notification, err))
		c, stop := t.e.opts.Clock.After(wait)
		select {
		case <-c:
		case <-t.ctx.Done():
		}
		stop()
		wait = min(2*wait, 2*time.Second)
	}
}
