package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// syncer makes committed transactions durable and only then answers their callers: the group
// commit of the fsync itself, the way a database server's WAL writer does it.
//
// The write connection runs with synchronous=NORMAL. In WAL mode a COMMIT then writes the
// transaction's frames to the WAL file (into the OS page cache: a crash of waba loses nothing)
// and does not fsync; SQLite still syncs the WAL before a checkpoint copies it into the
// database. The syncer fsyncs the WAL file after the writer's commits, one fsync covering every
// commit made before it began, and then answers the callers of those transactions. So a nil
// error still means what synchronous=FULL meant, "survives a power loss", while the writer
// goroutine runs the next transaction during the fsync instead of waiting for it.
//
// Readers may see a committed row before it is durable. Where that matters — a webhook must
// not be POSTed and then lost with the transaction that created it — the reader waits for the
// sync that covers what it read (waitDurable).
//
// A failed fsync leaves the state of the file unknown (the kernel may have dropped the dirty
// pages), so it is sticky: every waiting and later write fails until waba is restarted, when
// SQLite recovers the database from what the WAL really holds.
type syncer struct {
	wal string // the WAL file: the database path + "-wal"
	db  string // the database file, synced instead while no WAL file exists

	mu       sync.Mutex
	cond     *sync.Cond // broadcast when synced or err changes
	started  uint64     // commits begun (each a sequence number)
	done     uint64     // commits ended; the writer goroutine makes them one at a time
	synced   uint64     // every commit up to this one is durable
	err      error      // sticky: a failed fsync
	waiting  []syncWait // callers to answer, in commit order
	syncing  bool       // a sync of syncOnce is under way (the loop's or the writer's)
	stopping bool
	fmu      sync.Mutex // guards f: syncOnce and syncNow both sync
	f        *os.File   // the open WAL file
	kick     chan struct{}
	loopDone chan struct{}
	// beforeSync, when set (tests), runs before each fsync of syncOnce; an error from it
	// counts as a failed fsync.
	beforeSync func() error

	syncs     atomic.Int64
	syncNanos atomic.Int64
}

type syncWait struct {
	seq  uint64
	jobs []*writeJob
}

func newSyncer(dbPath string) *syncer {
	sy := &syncer{wal: dbPath + "-wal", db: dbPath, kick: make(chan struct{}, 1), loopDone: make(chan struct{})}
	sy.cond = sync.NewCond(&sy.mu)
	go sy.loop()
	return sy
}

// committing is called by the writer just before a COMMIT, committed just after it (whether it
// succeeded or not: a failed commit has nothing to sync, and syncing anyway is harmless).
func (sy *syncer) committing() {
	sy.mu.Lock()
	sy.started++
	sy.mu.Unlock()
}

func (sy *syncer) committed() {
	sy.mu.Lock()
	sy.done = sy.started
	sy.mu.Unlock()
	sy.poke() // a reader may be waiting for this commit
}

// answer queues jobs of the transaction committed last; they are answered after the next sync.
func (sy *syncer) answer(jobs []*writeJob) {
	if len(jobs) == 0 {
		return
	}
	sy.mu.Lock()
	if sy.err != nil {
		sy.mu.Unlock()
		for _, j := range jobs {
			j.err = sy.err
			close(j.done)
		}
		return
	}
	if sy.done <= sy.synced {
		// A sync that began after this transaction committed has already finished (the loop
		// is woken by the commit itself, before its jobs get here): nothing left to wait for.
		sy.mu.Unlock()
		release([]syncWait{{jobs: jobs}}, nil)
		return
	}
	sy.waiting = append(sy.waiting, syncWait{seq: sy.done, jobs: jobs})
	sy.mu.Unlock()
	sy.poke()
}

func (sy *syncer) poke() {
	select {
	case sy.kick <- struct{}{}:
	default:
	}
}

// waitDurable returns once every commit begun before the call is durable (a reader calls it
// after its query, so that what it read is on disk), or with the sticky error.
func (sy *syncer) waitDurable() error {
	sy.mu.Lock()
	defer sy.mu.Unlock()
	target := sy.started
	if sy.synced < target && sy.err == nil {
		sy.poke()
	}
	for sy.synced < target && sy.err == nil {
		sy.cond.Wait()
	}
	return sy.err
}

// syncNow makes everything written to the WAL so far durable: the migrations commit on the
// connection directly, not through the writer.
func (sy *syncer) syncNow() error {
	if err := sy.failed(); err != nil {
		return err
	}
	return sy.fsync()
}

// failed returns the sticky error, if an fsync failed.
func (sy *syncer) failed() error {
	sy.mu.Lock()
	defer sy.mu.Unlock()
	return sy.err
}

// stop syncs and answers what is still waiting, then ends the loop. The writer has stopped.
func (sy *syncer) stop() {
	sy.mu.Lock()
	sy.stopping = true
	sy.mu.Unlock()
	sy.poke()
	<-sy.loopDone
	if sy.f != nil {
		sy.f.Close()
	}
	sy.mu.Lock()
	if sy.err == nil {
		sy.err = errClosed // nothing syncs any more: later waits end at once
	}
	sy.cond.Broadcast()
	sy.mu.Unlock()
}

func (sy *syncer) stats() (int64, time.Duration) {
	return sy.syncs.Load(), time.Duration(sy.syncNanos.Load())
}

func (sy *syncer) loop() {
	defer close(sy.loopDone)
	for {
		<-sy.kick
		for sy.syncOnce() {
		}
		sy.mu.Lock()
		stopping := sy.stopping && !sy.syncing
		waiting := sy.take(sy.synced) // covered already (or failing)
		err := sy.err
		sy.mu.Unlock()
		release(waiting, err)
		if stopping {
			return
		}
	}
}

// syncOnce fsyncs the WAL for every commit made so far and answers the callers it covers,
// unless another sync is under way or there is nothing new; it reports whether it synced. The
// loop calls it, and so does the writer when it has nothing queued (see writer.run): with no
// work to overlap, syncing at once answers sooner than handing over to the loop.
func (sy *syncer) syncOnce() bool {
	sy.mu.Lock()
	if sy.syncing || sy.err != nil || sy.done <= sy.synced {
		sy.mu.Unlock()
		return false
	}
	sy.syncing = true
	target, hook := sy.done, sy.beforeSync
	sy.mu.Unlock()

	t := time.Now()
	var err error
	if hook != nil {
		err = hook()
	}
	if err == nil {
		err = sy.fsync()
	}
	sy.syncNanos.Add(int64(time.Since(t)))
	sy.syncs.Add(1)

	sy.mu.Lock()
	sy.syncing = false
	if err != nil {
		sy.err = fmt.Errorf("sqlite: the write-ahead log could not be synced to disk, so writes are refused until waba restarts: %w", err)
	} else {
		sy.synced = target
	}
	waiting := sy.take(sy.synced)
	err = sy.err
	more := sy.done > sy.synced || sy.stopping
	sy.cond.Broadcast()
	sy.mu.Unlock()
	release(waiting, err)
	if more {
		sy.poke() // commits made during this sync, or a stop waiting for it: the loop goes on
	}
	return true
}

// take removes and returns the waits up to seq (all of them once err is set). Called with mu.
func (sy *syncer) take(seq uint64) []syncWait {
	n := 0
	for n < len(sy.waiting) && (sy.waiting[n].seq <= seq || sy.err != nil) {
		n++
	}
	out := sy.waiting[:n:n]
	sy.waiting = sy.waiting[n:]
	return out
}

func release(waits []syncWait, err error) {
	for _, w := range waits {
		for _, j := range w.jobs {
			if err != nil && j.err == nil {
				j.err = err
			}
			close(j.done)
		}
	}
}

// fsync syncs the WAL file, reopening it if it was replaced since it was opened (SQLite keeps
// it while any connection is open, but a check is a stat, and a stale file would sync
// nothing). Without a WAL file everything is in the database file, which is synced instead.
func (sy *syncer) fsync() error {
	sy.fmu.Lock()
	defer sy.fmu.Unlock()
	cur, err := os.Stat(sy.wal)
	if errors.Is(err, os.ErrNotExist) {
		return syncFile(sy.db)
	}
	if err != nil {
		return err
	}
	if sy.f != nil {
		if open, err := sy.f.Stat(); err != nil || !os.SameFile(open, cur) {
			sy.f.Close()
			sy.f = nil
		}
	}
	if sy.f == nil {
		if sy.f, err = os.Open(sy.wal); err != nil {
			return err
		}
	}
	return datasync(sy.f)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return datasync(f)
}
