package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// errClosed is returned for writes handed to a store that is closing.
var errClosed = errors.New("sqlite: store closed")

// maxJobs caps how many callers' writes share one transaction.
const maxJobs = 64

// writer merges the writes of concurrent callers into one transaction, hence one fsync: the
// group commit of the accepted messages, the dispatcher's Apply, the webhook outbox's
// RecordAttempt … all queue here. One goroutine takes whatever is queued (up to maxJobs), runs
// each caller's work inside its own SAVEPOINT, commits once, and only then answers every
// caller. A caller whose work fails has its savepoint rolled back and gets its error; the
// others are not affected. A nil error therefore means "committed and on disk".
//
// Durability is the syncer's part (see syncer): the connection commits with synchronous=NORMAL,
// which writes the transaction to the WAL file without fsync, and the syncer fsyncs the WAL
// before any caller of that transaction is answered. The writer starts the next transaction
// meanwhile, so the fsync, most of a commit's time under synchronous=FULL, no longer stops
// the one goroutine every write waits for (docs/benchmarks.md, session 4).
type writer struct {
	db     *sql.DB
	sync   *syncer
	in     chan *writeJob
	quit   chan struct{}
	done   chan struct{}
	mu     sync.RWMutex // guards closed against sends racing close
	closed bool
	once   sync.Once

	savepoint, rollbackTo, release *sql.Stmt

	// afterCommit, when set (tests, before any write), runs between a transaction's end and
	// the hand-over of its callers to the syncer.
	afterCommit func()

	// What the writer did since it started (store.WriterStats): read by /metrics and by
	// `waba bench`, which showed that under load this goroutine, not the CPU, is the limit.
	txs, jobs, busyNs, commitNs atomic.Int64
}

type writeJob struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{}
}

func newWriter(ctx context.Context, db *sql.DB, sy *syncer) (*writer, error) {
	w := &writer{db: db, sync: sy, in: make(chan *writeJob, maxJobs*4), quit: make(chan struct{}), done: make(chan struct{})}
	var err error
	if w.savepoint, err = db.PrepareContext(ctx, "SAVEPOINT job"); err != nil {
		return nil, err
	}
	if w.rollbackTo, err = db.PrepareContext(ctx, "ROLLBACK TO job"); err != nil {
		w.savepoint.Close()
		return nil, err
	}
	if w.release, err = db.PrepareContext(ctx, "RELEASE job"); err != nil {
		w.savepoint.Close()
		w.rollbackTo.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// do runs fn inside the shared write transaction and returns once that transaction has
// committed (nil) or fn's part of it was undone (fn's error, or the commit's). fn must use only
// tx, and must not keep it. Once queued, the work runs even if ctx is cancelled: the caller
// waits for the outcome, so an error never hides a write that committed.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.sync.failed(); err != nil {
		return err
	}
	j := &writeJob{fn: fn, done: make(chan struct{})}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.in <- j:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	<-j.done
	return j.err
}

// close refuses new work, finishes what is queued and stops the goroutine.
func (w *writer) close() []error {
	var errs []error
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
		<-w.done
		w.sync.stop() // answers the last transactions once they are on disk
		errs = append(errs, w.savepoint.Close(), w.rollbackTo.Close(), w.release.Close())
	})
	return errs
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*writeJob, 0, maxJobs)
	for {
		batch = batch[:0]
		select {
		case j := <-w.in:
			batch = append(batch, j)
		case <-w.quit:
			// Nothing new can arrive once closed is set: drain and stop.
			for {
				select {
				case j := <-w.in:
					batch = append(batch, j)
					if len(batch) == maxJobs {
						w.run(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						w.run(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < maxJobs {
			select {
			case j := <-w.in:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		w.run(batch)
	}
}

// stats is what the writer has done so far.
func (w *writer) stats() store.WriterStats {
	syncs, syncTime := w.sync.stats()
	return store.WriterStats{
		Transactions: w.txs.Load(),
		Jobs:         w.jobs.Load(),
		Busy:         time.Duration(w.busyNs.Load()),
		Commit:       time.Duration(w.commitNs.Load()),
		Syncs:        syncs,
		Sync:         syncTime,
	}
}

// commit commits tx and counts the time it took. The syncer learns of the commit before it
// starts (a reader may see its rows as soon as it ends) and after it ends.
func (w *writer) commit(tx *sql.Tx) error {
	t := time.Now()
	w.sync.committing()
	err := tx.Commit()
	w.sync.committed()
	w.commitNs.Add(int64(time.Since(t)))
	return err
}

// run writes one batch of jobs in one transaction and hands them to the syncer, which answers
// them once the transaction is on disk; jobs whose work failed are answered at once.
func (w *writer) run(batch []*writeJob) {
	start := time.Now()
	defer func() {
		w.txs.Add(1)
		w.jobs.Add(int64(len(batch)))
		w.busyNs.Add(int64(time.Since(start)))
		if w.afterCommit != nil {
			w.afterCommit()
		}
		var durable []*writeJob
		for _, j := range batch {
			if j.err != nil {
				close(j.done)
			} else {
				durable = append(durable, j)
			}
		}
		w.sync.answer(durable)
		if len(w.in) == 0 {
			// Nothing to overlap the fsync with: sync here rather than wait for the loop.
			w.sync.syncOnce()
		}
	}()
	// No caller's context: the transaction carries the work of several callers.
	ctx := context.Background()
	fail := func(err error) {
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	if len(batch) == 1 {
		j := batch[0]
		if j.err = j.fn(ctx, tx); j.err != nil {
			tx.Rollback()
			return
		}
		if err := w.commit(tx); err != nil {
			j.err = fmt.Errorf("sqlite: commit: %w", err)
		}
		return
	}
	ok := 0
	for _, j := range batch {
		if _, err := tx.StmtContext(ctx, w.savepoint).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		if j.err = j.fn(ctx, tx); j.err != nil {
			if _, err := tx.StmtContext(ctx, w.rollbackTo).ExecContext(ctx); err != nil {
				// SQLite has rolled back the whole transaction (an I/O error, say): the
				// work of every caller in it is gone.
				tx.Rollback()
				fail(fmt.Errorf("sqlite: shared write transaction rolled back: %w", err))
				return
			}
		} else {
			ok++
		}
		if _, err := tx.StmtContext(ctx, w.release).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		tx.Rollback()
		return
	}
	if err := w.commit(tx); err != nil {
		fail(fmt.Errorf("sqlite: commit: %w", err))
	}
}
