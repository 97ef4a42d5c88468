package app

import (
	"context"
	"time"
)

// reviewEvery is how often the sandbox's template review runs (wall time); a template's
// review delay itself follows the virtual clock (engine.DefaultTemplateReview).
const reviewEvery = 500 * time.Millisecond

// reviewTemplates runs the sandbox's template review in the background until stopped: PENDING
// templates whose review delay has passed become APPROVED or REJECTED (engine/templatelife.go).
func (a *App) reviewTemplates() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(reviewEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := a.eng.SettleTemplates(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("template review failed", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
