package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

// QueueMax bounds the webhook queue in the store. Past it the oldest
// notifications are dropped, with a warning: a receiver down for long
// must not grow the database without end, and the newest events are the
// ones still worth telling.
const QueueMax = 10000

// Tuning of the delivery; variables so that tests can shorten them.
var (
	// firstRetry is the wait after the first failed post; each later
	// failure doubles it, up to maxRetry.
	firstRetry = time.Second
	maxRetry   = 10 * time.Minute
	// pollEvery is how often the queue is read when nothing woke the
	// deliverer: rows queued by other nodes, and retries coming due.
	pollEvery = time.Second
	// queueMax is QueueMax.
	queueMax = QueueMax
)

const (
	posters     = 4   // webhook posts at once
	runners     = 4   // commands at once
	commandJobs = 256 // commands waiting to run; past it new ones are dropped
	batch       = 16  // rows claimed at a time
	storeWait   = 5 * time.Second
)

// Notifier fires the rules of the configuration; it is a core.Sink.
type Notifier struct {
	st    store.Store
	log   *slog.Logger
	rules []*rule
	named map[string]*rule
	lease time.Duration

	wake    chan struct{}
	jobs    chan job
	stop    context.CancelFunc
	done    sync.WaitGroup
	closeMu sync.RWMutex
	closed  bool

	warnMu   sync.Mutex
	warnedAt map[string]time.Time
	warnLost map[string]int
}

// New returns the notifier of cfg's rules over st, delivering until
// Close; nil when there is no rule. A rule whose secret or CA file
// cannot be read is an error naming its key.
func New(cfg *config.Config, st store.Store, log *slog.Logger) (*Notifier, error) {
	if len(cfg.Notify) == 0 {
		return nil, nil
	}
	n := &Notifier{st: st, log: log, named: map[string]*rule{}, wake: make(chan struct{}, 1),
		jobs: make(chan job, commandJobs), warnedAt: map[string]time.Time{}, warnLost: map[string]int{}}
	hooks := 0
	for _, c := range cfg.Notify {
		r, err := compile(c)
		if err != nil {
			return nil, err
		}
		n.rules, n.named[r.Name] = append(n.rules, r), r
		if r.Webhook != "" {
			hooks++
			n.lease = max(n.lease, r.timeout+30*time.Second)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	n.stop = stop
	if hooks > 0 {
		n.done.Go(func() { n.deliver(ctx) })
	}
	for range runners {
		n.done.Go(func() { n.runCommands(ctx) })
	}
	log.Info("notifications", "rules", len(n.rules), "webhooks", hooks)
	return n, nil
}

// Record fires every rule that matches r (core.Sink): a webhook's
// notification is written to the store's queue before Record returns,
// a command is handed to a runner.
func (n *Notifier) Record(r *core.Record) {
	n.closeMu.RLock()
	defer n.closeMu.RUnlock()
	if n.closed {
		return
	}
	id := ""
	for _, rl := range n.rules {
		if !matches(&rl.Notify, r) {
			continue
		}
		if id == "" {
			id = newID()
		}
		e := eventOf(id, rl.Name, r)
		body := e.marshal()
		if rl.Webhook == "" {
			select {
			case n.jobs <- job{rl, e, body}:
			default:
				n.warn("command-full", "notify: commands waiting are at their bound: this one is dropped", "rule", rl.Name, "event", e.Event, "id", id)
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		dropped, err := n.st.NotifyPush(ctx, store.Notification{ID: id + "." + rl.Name, Event: id, Rule: rl.Name, Body: body, Created: e.Time}, queueMax)
		cancel()
		if err != nil {
			n.log.Error("notify: not queued: this notification is lost", "rule", rl.Name, "event", e.Event, "id", id, "err", err.Error())
			continue
		}
		if dropped > 0 {
			n.warn("queue-full", "notify: the webhook queue is full: its oldest notifications were dropped", "max", queueMax, "dropped", dropped)
		}
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// warn logs a warning of kind at most once every 10 s, with the number
// of its occurrences since the last one logged.
func (n *Notifier) warn(kind, msg string, attrs ...any) {
	n.warnMu.Lock()
	n.warnLost[kind]++
	if time.Since(n.warnedAt[kind]) < 10*time.Second {
		n.warnMu.Unlock()
		return
	}
	count := n.warnLost[kind]
	n.warnedAt[kind], n.warnLost[kind] = time.Now(), 0
	n.warnMu.Unlock()
	n.log.Warn(msg, append(attrs, "times", count)...)
}

// Close stops the deliveries: no new one starts, the posts and commands
// running finish (each within its timeout), and commands still waiting
// are dropped and counted in the log. Queued webhooks stay in the store
// for the next start.
func (n *Notifier) Close() {
	n.closeMu.Lock()
	if n.closed {
		n.closeMu.Unlock()
		return
	}
	n.closed = true
	n.closeMu.Unlock()
	n.stop()
	n.done.Wait()
	if left := len(n.jobs); left > 0 {
		n.log.Warn("notify: commands not run at shutdown", "dropped", left)
	}
}

// runCommands runs commands from the jobs until ctx ends.
func (n *Notifier) runCommands(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-n.jobs:
			start := time.Now()
			out, err := j.run(context.Background())
			attrs := []any{"rule", j.r.Name, "event", j.e.Event, "id", j.e.ID, "duration", time.Since(start).Round(time.Millisecond).String(), "output", out}
			if err != nil {
				n.log.Warn("notify: command failed", append(attrs, "err", err.Error())...)
			} else {
				n.log.Info("notify: command ran", attrs...)
			}
		}
	}
}

// deliver posts the queue's due rows until ctx ends.
func (n *Notifier) deliver(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	sem := make(chan struct{}, posters)
	var running sync.WaitGroup
	defer running.Wait()
	for {
		// Not under ctx: a claim cut short by the shutdown could lease
		// rows without returning them, and they would wait out the lease.
		// What is claimed is posted before the loop ends.
		sctx, cancel := context.WithTimeout(context.Background(), storeWait)
		due, err := n.st.NotifyClaim(sctx, time.Now(), n.lease, batch)
		cancel()
		if err != nil && ctx.Err() == nil {
			n.warn("claim", "notify: the webhook queue cannot be read", "err", err.Error())
		}
		for _, row := range due {
			sem <- struct{}{}
			running.Go(func() {
				defer func() { <-sem }()
				n.post(row)
			})
		}
		if len(due) == batch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-t.C:
		}
	}
}

// post delivers one claimed row and records the outcome.
func (n *Notifier) post(row store.Notification) {
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	r := n.named[row.Rule]
	if r == nil || r.Webhook == "" {
		n.log.Warn("notify: a queued notification's rule is gone from the configuration: dropped", "rule", row.Rule, "id", row.Event)
		n.st.NotifyDone(ctx, row.ID)
		return
	}
	var kind struct{ Event string }
	_ = json.Unmarshal(row.Body, &kind)
	err := r.post(context.Background(), row.Event, kind.Event, row.Body, row.Attempts+1)
	if err == nil {
		if err := n.st.NotifyDone(ctx, row.ID); err != nil {
			n.log.Error("notify: delivered but not removed from the queue (it will be sent again)", "rule", row.Rule, "id", row.Event, "err", err.Error())
		}
		n.log.Info("notify: delivered", "rule", row.Rule, "id", row.Event, "attempt", row.Attempts+1)
		return
	}
	wait := backoff(row.Attempts + 1)
	if rerr := n.st.NotifyRetry(ctx, row.ID, time.Now().Add(wait), err.Error()); rerr != nil {
		n.log.Error("notify: retry not recorded (it is tried again once its lease ends)", "rule", row.Rule, "id", row.Event, "err", rerr.Error())
	}
	n.log.Warn("notify: webhook failed, will retry", "rule", row.Rule, "id", row.Event, "attempt", row.Attempts+1, "retry_in", wait.Round(time.Millisecond).String(), "err", err.Error())
}

// backoff is the wait after the failed attempt number k (from 1): doubling
// from firstRetry up to maxRetry, plus up to a tenth at random so that
// many rows failed together do not come due together.
func backoff(k int) time.Duration {
	d := firstRetry
	for i := 1; i < k && d < maxRetry; i++ {
		d *= 2
	}
	d = min(d, maxRetry)
	return d + rand.N(d/10+1)
}
