package onprem

import (
	"context"
	"net/http"
	"time"
)

// Network is what the /v1 dialect needs from the (simulated) WhatsApp network for the contacts,
// identity and health endpoints. The simulated network implements it; the dialect never
// reaches into the network otherwise. Methods are safe for concurrent use.
type Network interface {
	// IsUser reports whether waID (digits only, already normalised) is a WhatsApp user.
	// Simulated users and unknown numbers are, by default. An error means the network could not
	// answer for this number (it is down, or a failure was injected for it); POST /v1/contacts
	// then reports `processing` or `failed` for it (see contacts.go).
	IsUser(ctx context.Context, waID string) (bool, error)
	// Identity returns the user's current identity key hash, when it was created, and whether
	// the business acknowledged it (GET /v1/contacts/{wa_id}/identity). A user who is not known
	// to the network is a waerr.NotFound error.
	Identity(ctx context.Context, waID string) (Identity, error)
	// AckIdentity acknowledges hash as the user's identity (PUT /v1/contacts/{wa_id}/identity),
	// which lifts the 1028 block on sends to them. A hash that is not the current one is a
	// waerr.InvalidParam error; an unknown user is waerr.NotFound. Acknowledging the current
	// hash twice is not an error.
	AckIdentity(ctx context.Context, waID, hash string) error
	// GatewayStatus is the connection state GET /v1/health reports: "connected", "connecting",
	// "disconnected", "uninitialized" or "unregistered" (shared/reference/onprem-api.md §10).
	GatewayStatus() string
}

// Identity is a user's identity key as the network knows it (onprem-api.md §6.2).
type Identity struct {
	Hash         string    // opaque, base64, e.g. "UKD6Y/5SqDU="
	CreatedAt    time.Time // when the current identity was detected
	Acknowledged bool      // whether the business acknowledged Hash with PUT …/identity
}

// StatsSource supplies the numbers /v1/stats reports (onprem-api.md §11). The app implements it
// from the store and the webhook dispatcher's counters.
type StatsSource interface {
	// AppStats returns in-memory counters; it is called on every GET /v1/stats/app and must be
	// cheap.
	AppStats(ctx context.Context) (AppStats, error)
	// DBStats counts rows in the store (GET /v1/stats/db). It may be slow on a large database,
	// as Meta warns for the real endpoint.
	DBStats(ctx context.Context) (DBStats, error)
}

// AppStats are the Coreapp-style counters of GET /v1/stats/app.
type AppStats struct {
	// CallbackQueueSize is the number of webhook events waiting to be POSTed
	// (`callback_queue_size`).
	CallbackQueueSize int64
	// CallbackRequests counts webhook POSTs made since start by result (`callback_requests`):
	// "success" for an HTTP 200, otherwise the HTTP status the endpoint answered ("500",
	// "302" …), or "error" when there was no HTTP answer (refused, timed out). Meta's example
	// uses the same convention ("success", "301"); keep the set small.
	CallbackRequests map[string]int64
}

// DBStats are the row counts of GET /v1/stats/db.
type DBStats struct {
	MessagesOutbound int64 // stored outbound messages (`db_messages{direction="outbound"}`)
	MessagesInbound  int64 // stored inbound messages (`db_messages{direction="inbound"}`)
	PendingMessages  int64 // outbound messages accepted but not yet sent (`db_pending_messages`)
	PendingCallbacks int64 // webhooks not yet delivered (`db_pending_callbacks`)
}

// WithNetwork gives the handler the network and the stats source, and registers the routes that
// need them: POST /v1/contacts, GET|PUT /v1/contacts/{wa_id}/identity, GET /v1/health and
// GET /v1/stats/app, /v1/stats/db, /v1/stats/db/internal. Call it once, before serving; both
// arguments are required. Until it is called those paths answer 404 (1006) like any unknown path.
func (h *Handler) WithNetwork(n Network, stats StatsSource) *Handler {
	if n == nil || stats == nil {
		panic("onprem: WithNetwork needs a Network and a StatsSource")
	}
	nr := &netRoutes{Handler: h, net: n, stats: stats}
	h.mux.HandleFunc("/v1/contacts", h.authed(false, nr.contacts))
	h.mux.HandleFunc("/v1/contacts/{wa_id}/identity", h.authed(false, nr.identity))
	// §10: Bearer or Apikey. waba has no WA_API_KEY setting yet, so only Bearer (and its
	// D360-API-KEY alias) is accepted; `Authorization: Apikey …` is answered 401 like any other
	// unknown scheme.
	h.mux.HandleFunc("/v1/health", h.authed(false, nr.health))
	h.mux.HandleFunc("/v1/stats/app", h.authed(false, nr.statsApp))
	h.mux.HandleFunc("/v1/stats/db", h.authed(false, nr.statsDB))
	h.mux.HandleFunc("/v1/stats/db/internal", h.authed(false, nr.statsDBInternal))
	return h
}

// netRoutes are the /v1 routes that need the network or the stats source. They live apart from
// Handler so that New keeps working without a network (unit tests of the message routes).
type netRoutes struct {
	*Handler
	net   Network
	stats StatsSource
}

// Authed wraps next in the /v1 bearer authentication (any role), so the app can mount /metrics
// behind it: the reference lists `GET /metrics` with Bearer auth (onprem-api.md §4). A missing
// or bad token is answered 401 with error 1005 in the On-Prem envelope.
func (h *Handler) Authed(next http.Handler) http.Handler {
	inner := h.authed(false, next.ServeHTTP)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", h.ids.next())
		inner(w, r)
	})
}
