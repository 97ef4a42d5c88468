package app

import (
	"context"
	"time"

	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/webhook"
)

// onpremRenderer renders webhook payloads in the On-Prem format; every number speaks On-Prem
// until the Cloud dialect lands.
type onpremRenderer struct{}

func (onpremRenderer) Status(id int64, recipient string, ev network.Event) []byte {
	return onprem.StatusEntry(id, recipient, ev)
}

func (onpremRenderer) Inbound(id int64, from, name string, at time.Time, body map[string]any) []byte {
	return onprem.InboundEntry(id, from, name, at, body)
}

// onpremNetwork adapts the simulated network to what /v1 needs.
type onpremNetwork struct{ *simnet.Net }

func (n onpremNetwork) Identity(ctx context.Context, waID string) (onprem.Identity, error) {
	id := n.Net.Identity(waID)
	return onprem.Identity{Hash: id.Hash, CreatedAt: id.CreatedAt, Acknowledged: id.Acknowledged}, nil
}

// endpoint is the webhook endpoint of a business number, from the On-Prem application settings.
func (a *App) endpoint(ctx context.Context, business string) (webhook.Endpoint, error) {
	s, err := a.eng.AppSettings(ctx)
	if err != nil {
		return webhook.Endpoint{}, err
	}
	return webhook.Endpoint{URL: s.Webhooks.URL, BackoffStep: s.BackoffStep(), MaxBackoff: s.MaxBackoff(),
		MaxConcurrent: s.Webhooks.MaxConcurrentRequests, SignatureSecret: s.Webhooks.SignatureSecret}, nil
}

// AppStats implements onprem.StatsSource.
func (a *App) AppStats(ctx context.Context) (onprem.AppStats, error) {
	pending, err := a.store.CountWebhooks(ctx, store.WebhookPending)
	if err != nil {
		return onprem.AppStats{}, err
	}
	st := a.webhooks.Stats()
	return onprem.AppStats{CallbackQueueSize: pending,
		CallbackRequests: map[string]int64{"success": st.DeliveredPosts, "failure": st.FailedPosts}}, nil
}

// DBStats implements onprem.StatsSource.
func (a *App) DBStats(ctx context.Context) (onprem.DBStats, error) {
	var s onprem.DBStats
	var err error
	if s.MessagesOutbound, err = a.store.CountMessages(ctx, store.Outbound); err != nil {
		return s, err
	}
	if s.MessagesInbound, err = a.store.CountMessages(ctx, store.Inbound); err != nil {
		return s, err
	}
	if s.PendingCallbacks, err = a.store.CountWebhooks(ctx, store.WebhookPending); err != nil {
		return s, err
	}
	return s, nil
}
