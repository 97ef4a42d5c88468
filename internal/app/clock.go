package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
)

// clockKey holds how far the sandbox moved virtual time ahead of the wall clock, in
// nanoseconds, so a restart continues the same timeline: held messages, windows and back-offs
// stored in virtual time stay where they were.
const clockKey = "sandbox.clock_offset_ns"

func restoreClock(ctx context.Context, st store.Store) (*clock.Virtual, error) {
	now := time.Now()
	raw, err := st.GetSetting(ctx, clockKey)
	if errors.Is(err, store.ErrNotFound) {
		return clock.NewVirtual(now), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read virtual clock: %w", err)
	}
	off, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("virtual clock offset %q: %w", raw, err)
	}
	return clock.NewVirtual(now.Add(time.Duration(off))), nil
}

// watchClock records the clock's offset after every jump; the returned function stops it and
// waits until it has stopped.
func (a *App) watchClock() func() {
	jumps, cancel := a.clock.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.saveClockJumps(jumps)
	}()
	return func() { cancel(); <-done }
}

func (a *App) saveClockJumps(jumps <-chan clock.Jump) {
	for range jumps {
		off := a.clock.Now().Sub(time.Now())
		ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.store.PutSetting(ctx, clockKey, []byte(strconv.FormatInt(int64(off), 10))); err != nil {
			a.log.Error("save virtual clock", "err", err)
		}
		done()
	}
}

// sweepMedia deletes expired media hourly (virtual time) and right after the clock jumps; the
// returned function stops it and waits.
func (a *App) sweepMedia() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	jumps, unsubscribe := a.clock.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unsubscribe()
		for {
			if n, err := a.media.Sweep(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("media sweep failed", "err", err)
			} else if n > 0 {
				a.log.Info("expired media deleted", "count", n)
			}
			t := a.clock.NewTimer(time.Hour)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			case <-jumps:
				t.Stop()
			}
		}
	}()
	return func() { cancel(); <-done }
}
