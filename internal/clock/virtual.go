package clock

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// Virtual is a clock that runs at real speed from a chosen start and can be moved forward.
// It is safe for concurrent use.
type Virtual struct {
	mu     sync.Mutex
	base   time.Time     // real instant (with its monotonic reading) the clock was created
	origin time.Time     // virtual time at base, without a monotonic reading
	shift  time.Duration // total of every jump so far; never negative
	timers timerHeap     // pending timers, earliest deadline first
	wake   *time.Timer   // real timer armed for the earliest pending deadline
	subs   map[chan Jump]struct{}
}

var _ Clock = (*Virtual)(nil)

// NewVirtual returns a virtual clock whose Now is start at this instant and advances with real time.
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{
		base:   time.Now(),
		origin: start.Round(0), // drop any monotonic reading: virtual time is wall time
		subs:   map[chan Jump]struct{}{},
	}
}

// Now returns the virtual time: start + real time elapsed since NewVirtual + every jump.
// It never goes backward, even if the host's wall clock does.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now()
}

func (v *Virtual) now() time.Time { return v.origin.Add(time.Since(v.base) + v.shift) }

// Advance moves the clock forward by d, fires every timer that is now due (channel timers have
// their value before Advance returns) and tells subscribers. A negative d is an error.
func (v *Virtual) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("clock: cannot advance by %v: a virtual clock only moves forward", d)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jump(d)
	return nil
}

// Set moves the clock forward to t, as Advance does. A t before Now is an error.
func (v *Virtual) Set(t time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	d := t.Sub(now)
	if d < 0 {
		return fmt.Errorf("clock: cannot set the time to %s, before the current %s: a virtual clock only moves forward",
			t.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	v.jump(d)
	return nil
}

// Pending returns the number of timers waiting to fire. Tests use it to know that a component
// has started waiting before they advance the clock.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

// jump moves the clock by d ≥ 0. Called with v.mu held.
func (v *Virtual) jump(d time.Duration) {
	if d == 0 {
		return
	}
	from := v.now()
	v.shift += d
	to := from.Add(d)
	v.fireDue(to)
	v.rearm()
	for ch := range v.subs {
		j := Jump{From: from, To: to}
		select {
		case old := <-ch: // merge with the jump the subscriber has not read yet
			j.From = old.From
		default:
		}
		ch <- j // cannot block: the buffer is empty and only jump sends, under v.mu
	}
}

// Subscribe implements Clock.
func (v *Virtual) Subscribe() (<-chan Jump, func()) {
	ch := make(chan Jump, 1)
	v.mu.Lock()
	v.subs[ch] = struct{}{}
	v.mu.Unlock()
	return ch, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if _, ok := v.subs[ch]; ok {
			delete(v.subs, ch)
			close(ch)
		}
	}
}

// NewTimer implements Clock.
func (v *Virtual) NewTimer(d time.Duration) Timer {
	t := &vtimer{v: v, c: make(chan time.Time, 1), index: -1}
	t.Reset(d)
	return t
}

// After implements Clock.
func (v *Virtual) After(d time.Duration) <-chan time.Time { return v.NewTimer(d).C() }

// AfterFunc implements Clock.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	t := &vtimer{v: v, f: f, index: -1}
	t.Reset(d)
	return t
}

// fireDue fires, in deadline order, every pending timer due at now. Called with v.mu held.
func (v *Virtual) fireDue(now time.Time) {
	for len(v.timers) > 0 && !v.timers[0].deadline.After(now) {
		t := heap.Pop(&v.timers).(*vtimer)
		if t.f != nil {
			go t.f()
			continue
		}
		select {
		case t.c <- now:
		default: // cannot happen: Reset drains the channel before re-arming
		}
	}
}

// rearm points the real wake-up timer at the earliest pending deadline. Called with v.mu held.
// Jumps only ever bring deadlines closer in real time, so each jump re-arms it.
func (v *Virtual) rearm() {
	if len(v.timers) == 0 {
		if v.wake != nil {
			v.wake.Stop()
		}
		return
	}
	d := v.timers[0].deadline.Sub(v.now())
	if v.wake == nil {
		v.wake = time.AfterFunc(d, v.tick)
		return
	}
	v.wake.Reset(d)
}

// tick runs when real time reaches the earliest deadline. A tick that finds nothing due (it raced
// with a Stop or a jump) just re-arms.
func (v *Virtual) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.fireDue(v.now())
	v.rearm()
}

type vtimer struct {
	v        *Virtual
	c        chan time.Time // nil for AfterFunc timers
	f        func()
	deadline time.Time
	index    int // position in v.timers, -1 when not pending
}

func (t *vtimer) C() <-chan time.Time { return t.c }

func (t *vtimer) Stop() bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	active := t.unschedule()
	t.v.rearm()
	return active
}

func (t *vtimer) Reset(d time.Duration) bool {
	v := t.v
	v.mu.Lock()
	defer v.mu.Unlock()
	active := t.unschedule()
	now := v.now()
	t.deadline = now.Add(d)
	heap.Push(&v.timers, t)
	v.fireDue(now)
	v.rearm()
	return active
}

// unschedule removes t from the pending timers and drains a fired but unreceived value, and
// reports whether either was there. Called with v.mu held.
func (t *vtimer) unschedule() bool {
	active := false
	if t.index >= 0 {
		heap.Remove(&t.v.timers, t.index)
		active = true
	}
	if t.c != nil {
		select {
		case <-t.c:
			active = true
		default:
		}
	}
	return active
}

// timerHeap is a container/heap of timers ordered by deadline.
type timerHeap []*vtimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
