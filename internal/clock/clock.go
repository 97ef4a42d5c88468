// Package clock gives components their notion of "now" and their timers, so the sandbox can move
// time.
//
// Components take a Clock in their constructor rather than calling time.Now, time.After or
// time.AfterFunc. In production that is Real(), the wall clock. In the sandbox and in tests it
// is a *Virtual clock: virtual time keeps flowing at the speed of real time from a chosen start,
// and the sandbox can jump it forward with Advance or Set (never backward) to see what happens
// after the 24-hour customer-service window closes, a TTL expires, or a webhook back-off elapses,
// without waiting for it.
//
// Timers created on a Virtual clock fire when real time reaches their virtual deadline and also as
// soon as a jump takes virtual time past it. A jump fires every due channel timer before Advance
// or Set returns, so a test can check a timer's channel right after advancing without sleeping.
// Components that must re-evaluate something other than a timer when time jumps (a rolling
// window, a cached "now") can Subscribe to jumps.
//
// Timers follow the Go 1.23 time.Timer semantics: after Stop or Reset returns, no stale value is
// received from the timer's channel.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock is a source of time and timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a Timer that sends the current time on its channel after at least d.
	NewTimer(d time.Duration) Timer
	// After is NewTimer(d).C(), for when the timer never needs stopping.
	After(d time.Duration) <-chan time.Time
	// AfterFunc calls f in its own goroutine after at least d. The Timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
	// Subscribe reports every jump of the clock. The channel holds at most one pending Jump;
	// jumps that happen before it is received are merged into it, so a slow reader learns the
	// total jump and never blocks the clock. cancel stops the reports and closes the channel; it
	// may be called more than once. The real clock never jumps.
	Subscribe() (jumps <-chan Jump, cancel func())
}

// Timer is a single event, like *time.Timer.
type Timer interface {
	// C returns the channel the time is sent on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns true if the call stopped the timer,
	// false if the timer had already fired (and its value was received) or been stopped.
	Stop() bool
	// Reset makes the timer fire after d from now, and reports whether it was active.
	Reset(d time.Duration) bool
}

// Jump is a discontinuity of a virtual clock: time moved from From to To at once.
type Jump struct {
	From, To time.Time
}

// Sleep waits for d on c, or until ctx is done, in which case it returns ctx.Err().
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

func (realClock) Subscribe() (<-chan Jump, func()) {
	ch := make(chan Jump)
	return ch, sync.OnceFunc(func() { close(ch) })
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
