// Package engine holds the rules both dialects share: message validation, acceptance with
// group commit, On-Prem users and tokens. It returns catalogue errors (package waerr), never
// HTTP statuses; the dialects render them.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Options are the engine's dependencies and settings.
type Options struct {
	Store       store.Store
	Clock       clock.Clock // the (possibly virtual) time of the simulated network
	IDs         *wa.IDs
	Logger      *slog.Logger
	Business    string // the default business number, digits only
	Shards      int
	CommitBatch int
	// Precheck runs the network's synchronous recipient checks (1028); may be nil.
	Precheck func(ctx context.Context, waID string) error
	// Accepted is told about every committed message (wakes its shard, counts it); may be nil.
	Accepted func(shard int, msgType string)
}

// Engine is the dialect-neutral core. Build it with New, Start it, Stop it last.
type Engine struct {
	st        store.Store
	clk       clock.Clock
	ids       *wa.IDs
	log       *slog.Logger
	business  string
	shards    int
	commit    *committer
	auth      *auth
	settings  appSettingsState // On-Prem application settings cache (settings.go); zero value ready
	templates templateState    // template registry cache (templates.go); zero value ready
	numbers   numbersState     // business numbers registry cache (numbers.go); zero value ready
	life      templateLife     // template review and status observers (templatelife.go)
	precheck  func(ctx context.Context, waID string) error
	accepted  func(shard int, msgType string)
}

// New builds an engine; it does no I/O.
func New(o Options) *Engine {
	if o.Shards < 1 {
		o.Shards = 1
	}
	log := o.Logger.With("component", "engine")
	return &Engine{
		st:       o.Store,
		clk:      o.Clock,
		ids:      o.IDs,
		log:      log,
		business: o.Business,
		shards:   o.Shards,
		commit:   newCommitter(o.Store, o.CommitBatch, log),
		auth:     newAuth(o.Store, log),
		precheck: o.Precheck,
		accepted: o.Accepted,
	}
}

// Start seeds the template registry (the WABA namespace and hello_world, if missing) and runs
// the group-commit writer.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.SeedTemplates(ctx); err != nil {
		return err
	}
	e.commit.start()
	return nil
}

// Stop writes every message already handed to the engine, then returns. Call it after the
// HTTP server has finished its in-flight requests. It is safe to call more than once.
func (e *Engine) Stop() { e.commit.stop() }

// Business is the default business number.
func (e *Engine) Business() string { return e.business }

// Accepted is the outcome of a successful send.
type Accepted struct {
	ID   int64  // internal id; the dialect renders the public one
	WaID string // the recipient's wa_id
}

// Shard returns the dispatch shard of a recipient: crc32(recipient) % shards, as On-Prem
// multiconnect routes (shared/reference/onprem-api.md §13).
func Shard(waID string, shards int) int {
	return int(crc32.ChecksumIEEE([]byte(waID)) % uint32(shards))
}

// Send validates m and stores it durably. When it returns without error the message is
// committed: an id given to a client means the message survives a crash (seed 004 FAQ, DESIGN §3).
func (e *Engine) Send(ctx context.Context, m *wa.Message, d wa.Dialect) (Accepted, error) {
	return e.SendFrom(ctx, e.business, m, d)
}

// SendFrom is Send from a given business number (digits; a Cloud route's phone-number id
// resolved through the Registry). Windows, tiers and webhooks are per business number.
func (e *Engine) SendFrom(ctx context.Context, business string, m *wa.Message, d wa.Dialect) (Accepted, error) {
	if err := Validate(m, d); err != nil {
		return Accepted{}, err
	}
	waID, ok := wa.NormalizePhone(m.To)
	if !ok {
		// Validate checks `to`; this guards against the two drifting apart.
		return Accepted{}, waerr.New(waerr.InvalidParam, "Parameter 'to' has invalid value '%s'", m.To)
	}
	if waID == business {
		// shared/reference/onprem-api.md §8.1: recipient equal to the sender → 1021.
		return Accepted{}, waerr.New(waerr.BadUser, "Cannot send a message to yourself: 'to' is the business number %s", waID)
	}
	var rendered *RenderedTemplate
	var category string
	if m.Type == "template" {
		// The registry's checks (templates.go): namespace, existence, status, parameters.
		var err error
		if rendered, category, err = e.checkTemplateSend(ctx, m.Template, d); err != nil {
			return Accepted{}, err
		}
	}
	if e.precheck != nil {
		if err := e.precheck(ctx, waID); err != nil {
			return Accepted{}, err
		}
	}
	payload, err := json.Marshal(m)
	if err == nil && rendered != nil {
		payload, err = withTemplateRender(payload, rendered, category)
	}
	if err != nil {
		return Accepted{}, waerr.New(waerr.Internal, "encode message: %v", err)
	}
	now := e.clk.Now().UTC()
	row := store.Message{
		ID:        e.ids.Next(),
		Direction: store.Outbound,
		Business:  business,
		Peer:      waID,
		Type:      m.Type,
		Payload:   payload,
		Status:    store.StatusAccepted,
		Shard:     Shard(waID, e.shards),
		NextAt:    now, // due for hand-off to the network at once
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := e.commit.commit(ctx, row); err != nil {
		if errors.Is(err, ErrStopped) {
			return Accepted{}, waerr.New(waerr.ServiceNotReady, "The server is shutting down; retry on the next start")
		}
		if ctx.Err() != nil {
			return Accepted{}, ctx.Err()
		}
		return Accepted{}, waerr.New(waerr.DatabaseError, "The message could not be stored; it was not accepted")
	}
	if e.accepted != nil {
		e.accepted(row.Shard, row.Type)
	}
	return Accepted{ID: row.ID, WaID: waID}, nil
}

// MarkRead marks an inbound message read (On-Prem PUT /v1/messages/{id}, §8.12).
func (e *Engine) MarkRead(ctx context.Context, id int64) error {
	err := e.st.UpdateMessageStatus(ctx, id, store.Inbound, store.StatusRead, e.clk.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return waerr.New(waerr.NotFound, "No inbound message with this id")
	}
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// Now is the engine's (possibly virtual) time.
func (e *Engine) Now() time.Time { return e.clk.Now() }
