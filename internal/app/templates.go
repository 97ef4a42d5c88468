package app

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store"
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

// templateWebhooks sends the Cloud `message_template_status_update` webhook (webhooks.md §6) of
// every template status change: one per WABA that has a Cloud-dialect number, through that
// number's webhook endpoint (On-Prem has no such webhook). It goes through the durable outbox
// like every other webhook, so it is retried and logged the same way.
func (a *App) templateWebhooks(ctx context.Context, ev engine.TemplateEvent) {
	reg, err := a.eng.Registry(ctx)
	if err != nil {
		a.log.Error("template webhook: read numbers", "err", err)
		return
	}
	id, _ := strconv.ParseInt(engine.TemplateID(ev.Template.Name, ev.Template.Language), 10, 64)
	payload, _ := json.Marshal(map[string]any{"time": ev.At.Unix(), "value": map[string]any{
		"event":                     ev.Event,
		"message_template_id":       id, // an integer here, unlike elsewhere (cloud-api.md §6)
		"message_template_name":     ev.Template.Name,
		"message_template_language": ev.Template.Language,
		"reason":                    ev.Reason,
		"message_template_category": ev.Template.Category,
	}})
	now := a.clock.Now().UTC()
	var hooks []store.Webhook
	seen := map[string]bool{}
	for _, n := range reg.Numbers {
		if n.WebhookDialect != engine.DialectCloud || seen[n.WABAID] {
			continue
		}
		seen[n.WABAID] = true
		hooks = append(hooks, store.Webhook{Business: n.Phone, Kind: store.WebhookCloudTemplate, Payload: payload,
			State: store.WebhookPending, DueAt: now, CreatedAt: now, UpdatedAt: now})
	}
	if len(hooks) == 0 {
		return
	}
	if err := a.store.Apply(ctx, store.Batch{Webhooks: hooks}); err != nil {
		a.log.Error("template webhook: store", "template", ev.Template.Name, "err", err)
		return
	}
	a.webhooks.Wake()
}
