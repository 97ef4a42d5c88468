package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/openwaba/waba/internal/store"
)

// ErrStopped is returned for writes handed to a committer that has stopped.
var ErrStopped = errors.New("engine: committer stopped")

// committer is the group commit of accepted messages (shared/reference/performance.md): request
// handlers hand their row to one writer goroutine and wait; the writer takes everything queued
// (up to max rows), stores it in one transaction and answers every waiting handler. A slow
// fsync therefore grows the next batch instead of the queue of blocked handlers, and a
// handler only answers 201 once its row is durable.
//
// Up to inFlight batches are written at once. The store's own writer (SQLite) merges
// concurrent callers into one transaction, so with a single batch in flight the accept path
// got at most every other of the writer's commits: a batch formed while the writer was busy
// with the dispatcher's or the webhook outbox's work had to wait for that commit and then for
// its own. With several in flight, a batch joins whichever transaction the writer starts next
// (docs/benchmarks.md, session 3). On PostgreSQL they are simply concurrent transactions.
type committer struct {
	st      store.Store
	max     int
	log     *slog.Logger
	in      chan commitReq
	quit    chan struct{}
	done    chan struct{}
	mu      sync.RWMutex // guards stopped against sends racing Stop
	closed  bool
	started bool
	once    sync.Once
	slots   chan struct{} // one token per batch being written
	writes  sync.WaitGroup
}

// inFlight is how many group-commit batches may be written at once.
const inFlight = 4

type commitReq struct {
	msg   store.Message
	reply chan error
}

func newCommitter(st store.Store, max int, log *slog.Logger) *committer {
	if max < 1 {
		max = 1
	}
	return &committer{
		st:    st,
		max:   max,
		log:   log,
		in:    make(chan commitReq, max*4),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		slots: make(chan struct{}, inFlight),
	}
}

func (c *committer) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	go c.loop()
}

// commit stores m durably, sharing the transaction with whatever else is queued.
func (c *committer) commit(ctx context.Context, m store.Message) error {
	reply := make(chan error, 1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrStopped
	}
	select {
	case c.in <- commitReq{msg: m, reply: reply}:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	// Once queued, the row will be written: wait for the outcome even if the client went
	// away, so "accepted" never depends on a cancelled context.
	return <-reply
}

// stop refuses new rows, writes everything already queued, and returns when done.
func (c *committer) stop() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		started := c.started
		c.mu.Unlock()
		close(c.quit)
		if started {
			<-c.done
		}
	})
}

func (c *committer) loop() {
	defer close(c.done)
	defer c.writes.Wait()
	for {
		var first commitReq
		select {
		case first = <-c.in:
		case <-c.quit:
			// Drain: nothing new can arrive once closed is set.
			for {
				batch := c.fill(nil)
				if len(batch) == 0 {
					return
				}
				c.write(batch)
			}
		}
		// Wait for a free slot before taking the rest: what arrives meanwhile joins this batch.
		c.slots <- struct{}{}
		batch := c.fill([]commitReq{first})
		c.writes.Add(1)
		go func() {
			defer c.writes.Done()
			defer func() { <-c.slots }()
			c.write(batch)
		}()
	}
}

// fill adds what is queued to batch, up to c.max rows, without waiting.
func (c *committer) fill(batch []commitReq) []commitReq {
	if batch == nil {
		batch = make([]commitReq, 0, 8)
	}
	for len(batch) < c.max {
		select {
		case r := <-c.in:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (c *committer) write(batch []commitReq) {
	rows := make([]store.Message, 0, len(batch))
	for _, r := range batch {
		rows = append(rows, r.msg)
	}
	// The write must not be cut short by a request's context: it carries other requests too.
	err := c.st.InsertMessages(context.Background(), rows)
	if err != nil {
		c.log.Error("group commit failed", "rows", len(rows), "err", err)
		err = fmt.Errorf("commit %d messages: %w", len(rows), err)
	}
	for _, r := range batch {
		r.reply <- err
	}
}
