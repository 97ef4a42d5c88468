package cloud

import (
	"sync"
	"time"

	"github.com/openwaba/waba/internal/engine"
)

// Send-rate limits of the Cloud route (shared/reference/cloud-api.md §8), both answered
// synchronously:
//
//   - 130429 when a business number sends more than its throughput (Number.Throughput, 80
//     messages/s by default): a token bucket per number whose burst is the rate.
//   - 131056 when a business number writes to the same user faster than 1 message per 6 s beyond
//     a burst of 45: a token bucket per (number, user) pair holding 45 tokens and refilling one
//     every 6 s. Meta describes the burst as borrowing future quota ("a burst of 20 → ~2 min
//     wait"); the bucket is the simpler model the issue allows: after a burst the sender waits
//     6 s per message it is short, not for the whole burst to be repaid.
//
// Time is the virtual clock, so advancing it in the sandbox refills the buckets.
const (
	pairInterval = 6 * time.Second
	pairBurst    = 45
	// maxPairs bounds the per-user state; see sweep.
	maxPairs = 100_000
	// sweepEvery is how often buckets that have refilled completely are dropped.
	sweepEvery = time.Minute
)

// bucket is a token bucket kept as its theoretical arrival time (GCRA): each message moves tat
// one interval later; a message is allowed while tat stays within burst intervals of now. The
// bucket is full when tat is not after now. Integer durations keep it exact (a float refill of
// 1/6 token per second does not add up to one token after 6 s).
type bucket struct {
	tat time.Time
}

// take spends one message if the bucket allows it.
func (b *bucket) take(now time.Time, interval time.Duration, burst int) bool {
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if next.Sub(now) > time.Duration(burst)*interval {
		return false
	}
	b.tat = next
	return true
}

// full reports whether the bucket has refilled completely by now.
func (b *bucket) full(now time.Time) bool { return !b.tat.After(now) }

type pairKey struct{ business, waID string }

// limiter holds the buckets of every number and pair. The zero value is not ready: use
// newLimiter.
type limiter struct {
	mu        sync.Mutex
	numbers   map[string]*bucket
	pairs     map[pairKey]*bucket
	lastSweep time.Time
}

func newLimiter() *limiter {
	return &limiter{numbers: map[string]*bucket{}, pairs: map[pairKey]*bucket{}}
}

// allowNumber spends one message of the number's throughput (messages/s, burst = rate).
func (l *limiter) allowNumber(business string, throughput int, now time.Time) bool {
	if throughput <= 0 {
		throughput = engine.DefaultThroughput
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.numbers[business]
	if !ok {
		b = &bucket{}
		l.numbers[business] = b
	}
	return b.take(now, time.Second/time.Duration(throughput), throughput)
}

// allowPair spends one message of the (business, user) pair's allowance.
func (l *limiter) allowPair(business, waID string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	k := pairKey{business, waID}
	b, ok := l.pairs[k]
	if !ok {
		b = &bucket{}
		l.pairs[k] = b
	}
	return b.take(now, pairInterval, pairBurst)
}

// refundPair gives back the message allowPair counted for a send the engine then refused
// (a request error is not a message sent to the user).
func (l *limiter) refundPair(business, waID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.pairs[pairKey{business, waID}]; ok {
		b.tat = b.tat.Add(-pairInterval)
	}
}

// sweep drops pair buckets that have refilled completely (a full bucket is the same as none,
// so nothing is forgotten), every sweepEvery or when there are more than maxPairs. If every
// bucket is still in use past maxPairs, the map is emptied: memory stays bounded at the cost
// of forgiving those senders once. Called with mu held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery && len(l.pairs) < maxPairs {
		return
	}
	l.lastSweep = now
	for k, b := range l.pairs {
		if b.full(now) {
			delete(l.pairs, k)
		}
	}
	if len(l.pairs) >= maxPairs {
		clear(l.pairs)
	}
}
