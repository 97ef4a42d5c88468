package clock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen promptly. Assertions never
// sleep: they wait on a channel or poll with this deadline.
const wait = 5 * time.Second

var start = time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC)

func receive(t *testing.T, c <-chan time.Time, what string) time.Time {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(wait):
		t.Fatalf("%s: nothing received within %v", what, wait)
		return time.Time{}
	}
}

func empty(t *testing.T, c <-chan time.Time, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s: unexpectedly received %v", what, v)
	default:
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, wait)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestVirtualNowFlowsFromStart(t *testing.T) {
	v := NewVirtual(start)
	first := v.Now()
	if first.Before(start) || first.Sub(start) > time.Second {
		t.Fatalf("Now() = %v right after NewVirtual(%v)", first, start)
	}
	if first.Location() != time.UTC {
		t.Errorf("Now() location = %v, want the start's (UTC)", first.Location())
	}
	eventually(t, "virtual time flows with real time", func() bool { return v.Now().After(first) })
}

func TestVirtualAdvanceAndSet(t *testing.T) {
	v := NewVirtual(start)
	if err := v.Advance(time.Hour); err != nil {
		t.Fatalf("Advance(1h): %v", err)
	}
	if now := v.Now(); now.Before(start.Add(time.Hour)) || now.Sub(start) > time.Hour+time.Second {
		t.Fatalf("after Advance(1h) Now() = %v, want about %v", now, start.Add(time.Hour))
	}
	if err := v.Advance(-time.Second); err == nil {
		t.Error("Advance(-1s) succeeded; want an error")
	}
	target := start.Add(48 * time.Hour)
	if err := v.Set(target); err != nil {
		t.Fatalf("Set(+48h): %v", err)
	}
	if now := v.Now(); now.Before(target) {
		t.Fatalf("after Set(%v) Now() = %v", target, now)
	}
	if err := v.Set(start); err == nil {
		t.Error("Set(the past) succeeded; want an error")
	}
	if now := v.Now(); now.Before(target) {
		t.Fatalf("a refused Set moved the clock back to %v", now)
	}
	if err := v.Advance(0); err != nil {
		t.Errorf("Advance(0): %v", err)
	}
}

func TestVirtualTimerFiresOnAdvance(t *testing.T) {
	v := NewVirtual(start)
	tm := v.NewTimer(time.Hour)
	empty(t, tm.C(), "before the jump")
	if err := v.Advance(59 * time.Minute); err != nil {
		t.Fatal(err)
	}
	empty(t, tm.C(), "after a jump short of the deadline")
	if err := v.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	// Advance fires channel timers before it returns, so no waiting is needed.
	select {
	case got := <-tm.C():
		if got.Before(start.Add(time.Hour)) {
			t.Errorf("timer sent %v, before its deadline %v", got, start.Add(time.Hour))
		}
	default:
		t.Fatal("timer did not fire when Advance passed its deadline")
	}
	if tm.Stop() {
		t.Error("Stop after the value was received = true, want false")
	}
	if v.Pending() != 0 {
		t.Errorf("Pending() = %d after the only timer fired", v.Pending())
	}
}

func TestVirtualTimerFiresOnSet(t *testing.T) {
	v := NewVirtual(start)
	c := v.After(24 * time.Hour)
	if err := v.Set(start.Add(25 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	receive(t, c, "After(24h) once Set passes it")
}

func TestVirtualTimerFiresInRealTime(t *testing.T) {
	v := NewVirtual(start)
	realStart := time.Now()
	tm := v.NewTimer(20 * time.Millisecond)
	receive(t, tm.C(), "20ms timer in real time")
	if elapsed := time.Since(realStart); elapsed < 20*time.Millisecond {
		t.Errorf("fired after %v of real time, before its 20ms", elapsed)
	}
}

// A jump that brings a deadline closer must re-arm the real wake-up: the rest of the wait is real.
func TestVirtualTimerFiresAfterPartialJump(t *testing.T) {
	v := NewVirtual(start)
	tm := v.NewTimer(time.Hour)
	if err := v.Advance(time.Hour - 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	receive(t, tm.C(), "timer 30ms from its deadline after the jump")
}

func TestVirtualTimersFireInDeadlineOrder(t *testing.T) {
	v := NewVirtual(start)
	var (
		mu  sync.Mutex
		got []int
		wg  sync.WaitGroup
	)
	for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		tm := v.NewTimer(d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-tm.C()
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
		}()
	}
	far := v.NewTimer(10 * time.Hour)
	if err := v.Advance(5 * time.Hour); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("not every due timer fired")
	}
	if len(got) != 3 {
		t.Fatalf("fired %v, want all three", got)
	}
	empty(t, far.C(), "timer beyond the jump")
	if v.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1", v.Pending())
	}
}

func TestVirtualStopAndReset(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, v *Virtual)
	}{
		{"stop a pending timer", func(t *testing.T, v *Virtual) {
			tm := v.NewTimer(time.Hour)
			if !tm.Stop() {
				t.Error("Stop of a pending timer = false")
			}
			if tm.Stop() {
				t.Error("second Stop = true")
			}
			mustAdvance(t, v, 2*time.Hour)
			empty(t, tm.C(), "stopped timer")
		}},
		{"stop discards a fired but unreceived value", func(t *testing.T, v *Virtual) {
			tm := v.NewTimer(time.Hour)
			mustAdvance(t, v, time.Hour)
			if !tm.Stop() {
				t.Error("Stop with an unreceived value = false, want true (Go 1.23 semantics)")
			}
			empty(t, tm.C(), "after Stop")
		}},
		{"reset moves the deadline", func(t *testing.T, v *Virtual) {
			tm := v.NewTimer(time.Hour)
			if !tm.Reset(3 * time.Hour) {
				t.Error("Reset of a pending timer = false")
			}
			mustAdvance(t, v, 2*time.Hour)
			empty(t, tm.C(), "before the new deadline")
			mustAdvance(t, v, time.Hour)
			receive(t, tm.C(), "at the new deadline")
		}},
		{"reset after firing re-arms", func(t *testing.T, v *Virtual) {
			tm := v.NewTimer(time.Minute)
			mustAdvance(t, v, time.Minute)
			receive(t, tm.C(), "first firing")
			if tm.Reset(time.Minute) {
				t.Error("Reset of a fired timer = true")
			}
			mustAdvance(t, v, time.Minute)
			receive(t, tm.C(), "second firing")
		}},
		{"zero and negative durations fire at once", func(t *testing.T, v *Virtual) {
			receive(t, v.After(0), "After(0)")
			receive(t, v.NewTimer(-time.Hour).C(), "NewTimer(-1h)")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, NewVirtual(start)) })
	}
}

func mustAdvance(t *testing.T, v *Virtual, d time.Duration) {
	t.Helper()
	if err := v.Advance(d); err != nil {
		t.Fatal(err)
	}
}

func TestVirtualAfterFunc(t *testing.T) {
	v := NewVirtual(start)
	ran := make(chan time.Time, 1)
	tm := v.AfterFunc(time.Hour, func() { ran <- v.Now() })
	if tm.C() != nil {
		t.Error("AfterFunc timer has a channel")
	}
	stopped := v.AfterFunc(time.Hour, func() { t.Error("stopped AfterFunc ran") })
	if !stopped.Stop() {
		t.Error("Stop of a pending AfterFunc = false")
	}
	mustAdvance(t, v, time.Hour)
	if at := receive(t, ran, "AfterFunc after the jump"); at.Before(start.Add(time.Hour)) {
		t.Errorf("f ran at virtual %v, before its deadline", at)
	}
	if tm.Stop() {
		t.Error("Stop after f ran = true")
	}
}

func TestVirtualSubscribe(t *testing.T) {
	v := NewVirtual(start)
	jumps, cancel := v.Subscribe()
	defer cancel()

	before := v.Now()
	mustAdvance(t, v, time.Hour)
	j := <-jumps // Advance sends before it returns
	if j.From.Before(before) || j.To.Sub(j.From) != time.Hour {
		t.Errorf("jump = %v → %v, want 1h from about %v", j.From, j.To, before)
	}

	// A slow subscriber gets one merged jump, and the clock never blocks on it.
	before = v.Now()
	mustAdvance(t, v, time.Hour)
	mustAdvance(t, v, 2*time.Hour)
	j = <-jumps
	if j.From.Before(before) || j.To.Sub(j.From) < 3*time.Hour {
		t.Errorf("merged jump = %v → %v, want ≥ 3h from about %v", j.From, j.To, before)
	}
	select {
	case extra := <-jumps:
		t.Errorf("second report %v after merging", extra)
	default:
	}

	cancel()
	cancel() // idempotent
	mustAdvance(t, v, time.Hour)
	if _, ok := <-jumps; ok {
		t.Error("channel still open after cancel")
	}
}

func TestSleep(t *testing.T) {
	t.Run("virtual, woken by a jump", func(t *testing.T) {
		v := NewVirtual(start)
		done := make(chan error, 1)
		go func() { done <- Sleep(context.Background(), v, 24*time.Hour) }()
		eventually(t, "sleeper is waiting", func() bool { return v.Pending() == 1 })
		mustAdvance(t, v, 24*time.Hour)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Sleep = %v", err)
			}
		case <-time.After(wait):
			t.Fatal("Sleep did not return after the jump")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		v := NewVirtual(start)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Sleep(ctx, v, time.Hour) }()
		eventually(t, "sleeper is waiting", func() bool { return v.Pending() == 1 })
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Sleep = %v, want context.Canceled", err)
			}
		case <-time.After(wait):
			t.Fatal("Sleep did not return after cancel")
		}
		if v.Pending() != 0 {
			t.Errorf("Pending() = %d: a cancelled Sleep left its timer behind", v.Pending())
		}
	})
	t.Run("real", func(t *testing.T) {
		if err := Sleep(context.Background(), Real(), time.Millisecond); err != nil {
			t.Errorf("Sleep = %v", err)
		}
	})
}

func TestReal(t *testing.T) {
	c := Real()
	if d := time.Since(c.Now()); d < 0 || d > time.Second {
		t.Errorf("Real().Now() is %v away from time.Now()", d)
	}
	receive(t, c.NewTimer(time.Millisecond).C(), "real timer")
	receive(t, c.After(time.Millisecond), "real After")
	ran := make(chan time.Time, 1)
	tm := c.AfterFunc(time.Millisecond, func() { ran <- time.Now() })
	if tm.C() != nil {
		t.Error("real AfterFunc timer has a channel")
	}
	receive(t, ran, "real AfterFunc")
	stopped := c.NewTimer(time.Hour)
	if !stopped.Stop() {
		t.Error("Stop of a pending real timer = false")
	}
	jumps, cancel := c.Subscribe()
	cancel()
	cancel()
	if _, ok := <-jumps; ok {
		t.Error("real clock reported a jump")
	}
}

// TestVirtualConcurrent runs timers, jumps, stops and reads at once; with -race it checks the
// locking, and at the end every timer that was not stopped and is due has fired exactly once.
func TestVirtualConcurrent(t *testing.T) {
	v := NewVirtual(start)
	const workers, perWorker = 8, 50
	var fired, stopped, funcs atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				d := time.Duration(i%10+1) * time.Minute
				switch (w + i) % 4 {
				case 0:
					if v.NewTimer(d).Stop() {
						stopped.Add(1)
					}
				case 1:
					v.AfterFunc(d, func() { funcs.Add(1) })
				case 2:
					_ = v.Advance(time.Minute)
				default:
					tm := v.NewTimer(d)
					go func() { <-tm.C(); fired.Add(1) }()
				}
				_ = v.Now()
			}
		}()
	}
	wg.Wait()
	mustAdvance(t, v, time.Hour) // past every deadline
	if v.Pending() != 0 {
		t.Fatalf("Pending() = %d after jumping past every deadline", v.Pending())
	}
	const each = workers * perWorker / 4
	eventually(t, "every channel timer delivered", func() bool { return fired.Load() == each })
	eventually(t, "every AfterFunc ran", func() bool { return funcs.Load() == each })
	if stopped.Load() != each {
		t.Errorf("%d of %d immediate Stops succeeded", stopped.Load(), each)
	}
}

func TestVirtualNeverGoesBackward(t *testing.T) {
	v := NewVirtual(start)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			_ = v.Advance(time.Millisecond)
		}
	}()
	prev := v.Now()
	for range 1000 {
		now := v.Now()
		if now.Before(prev) {
			t.Fatalf("Now went from %v back to %v", prev, now)
		}
		prev = now
	}
	wg.Wait()
}
