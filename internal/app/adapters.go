package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openwaba/waba/internal/dialect/cloud"
	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
	"github.com/openwaba/waba/internal/webhook"
)

// renderer renders webhook payloads in the dialect of the business number, read from the
// registry at dispatch time: Cloud values (stored as the cloud.* kinds) for numbers whose
// WebhookDialect is cloud, On-Prem entries for every other number, the unregistered included.
// mediaURL makes the signed `url` of inbound media in Cloud webhooks (cloud.MediaURL); nil
// leaves it out.
type renderer struct {
	eng      *engine.Engine
	mediaURL func(graphID string) string
}

// cloudHooksNumber is the registry entry of business if its webhooks are in the Cloud format.
func cloudHooksNumber(ctx context.Context, eng *engine.Engine, business string) (engine.Number, bool, error) {
	reg, err := eng.Registry(ctx)
	if err != nil {
		return engine.Number{}, false, err
	}
	n, ok := reg.Number(business)
	return n, ok && n.WebhookDialect == engine.DialectCloud, nil
}

func webhookNumber(n engine.Number) cloud.WebhookNumber {
	return cloud.WebhookNumber{Phone: n.Phone, PhoneNumberID: n.PhoneNumberID, GraphVersion: n.GraphVersion}
}

func (r renderer) Status(ctx context.Context, m store.Message, name string, ev network.Event) (string, []byte, error) {
	n, isCloud, err := cloudHooksNumber(ctx, r.eng, m.Business)
	switch {
	case err != nil:
		return "", nil, err
	case isCloud:
		return store.WebhookCloudStatus, cloud.StatusValue(webhookNumber(n), m.Business, m.ID, m.Peer, name, m.Payload, ev), nil
	}
	return store.WebhookStatus, onprem.StatusEntry(m.ID, m.Peer, ev), nil
}

func (r renderer) Inbound(ctx context.Context, business string, id int64, from, name string, at time.Time, body map[string]any) (string, []byte, error) {
	n, isCloud, err := cloudHooksNumber(ctx, r.eng, business)
	switch {
	case err != nil:
		return "", nil, err
	case isCloud:
		return store.WebhookCloudMessage, cloud.InboundValue(webhookNumber(n), business, id, from, name, at, body, r.mediaURL), nil
	}
	if _, details, ok := media.DownloadError(body); ok {
		// onprem-api.md §12, errors.md §2.6: On-Prem reports a media download failure as a
		// top-level error webhook, {"errors":[{"code":400,"title":"Media download error",…}]}.
		c := waerr.MediaDownload.OnPrem
		b, _ := json.Marshal(onprem.ErrorObject{Code: c.Code, Title: c.Title, Details: details})
		return store.WebhookError, b, nil
	}
	return store.WebhookMessage, onprem.InboundEntry(id, from, name, at, body), nil
}

// wantStatus says whether a status webhook is wanted: every status for a Cloud number
// (webhooks.md §1), the On-Prem settings (sent_status, webhooks.message.*) otherwise. When the
// settings cannot be read the webhook is kept.
func (a *App) wantStatus(ctx context.Context, business, status string) bool {
	if _, isCloud, err := cloudHooksNumber(ctx, a.eng, business); err == nil && isCloud {
		return true
	}
	s, err := a.eng.AppSettings(ctx)
	return err != nil || s.WantStatus(status)
}

// registryChanged sends the backlog at once when a Cloud number's callback URL becomes set or
// changes (issue 10 item 5), as a new On-Prem webhooks.url does.
func (a *App) registryChanged(ctx context.Context, old, cur engine.Registry) {
	for _, n := range cur.Numbers {
		if n.WebhookDialect != engine.DialectCloud {
			continue
		}
		url, _ := cur.Callback(n)
		if url == "" {
			continue
		}
		o, existed := old.Number(n.Phone)
		if oldURL, _ := old.Callback(o); !existed || o.WebhookDialect != engine.DialectCloud || oldURL != url {
			a.webhooks.RetryNow(ctx)
			return
		}
	}
}

// onpremNetwork adapts the simulated network to what /v1 needs.
type onpremNetwork struct{ *simnet.Net }

func (n onpremNetwork) Identity(ctx context.Context, waID string) (onprem.Identity, error) {
	id := n.Net.Identity(waID)
	return onprem.Identity{Hash: id.Hash, CreatedAt: id.CreatedAt, Acknowledged: id.Acknowledged}, nil
}

// endpoint is the webhook endpoint of a business number for webhooks of one dialect (its
// Options.SettingsFor): Cloud webhooks go to the number's Cloud callback (number, WABA or app,
// Registry.Callback), signed with the app secret; the others to the On-Prem application
// settings' URL. A number's stored kinds name their dialect, so webhooks rendered before a
// dialect switch still reach the endpoint that expects their format.
func (a *App) endpoint(ctx context.Context, business, dialect string) (webhook.Endpoint, error) {
	if dialect == webhook.DialectCloud {
		reg, err := a.eng.Registry(ctx)
		if err != nil {
			return webhook.Endpoint{}, err
		}
		n, ok := reg.Number(business)
		if !ok {
			return webhook.Endpoint{Dialect: webhook.DialectCloud}, nil // no URL: they wait, visibly
		}
		url, _ := reg.Callback(n)
		return webhook.Endpoint{URL: url, Dialect: webhook.DialectCloud, SignatureSecret: reg.App.AppSecret,
			WABAID: n.WABAID, Batch: n.BatchWebhooks}, nil
	}
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
