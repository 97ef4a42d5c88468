// Package network defines what the engine needs from a WhatsApp network: something that takes
// an accepted message and, step by step on the (virtual) timeline, reports what happened to it.
// simnet is the built-in simulated network; a relay to the real Cloud API can implement the same
// interface later (DESIGN §9).
package network

import (
	"context"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// Event is one status the business will hear about.
type Event struct {
	Status       string // sent, delivered, read, failed
	At           time.Time
	Err          *waerr.Condition // for failed
	Details      string
	Conversation *Conversation // on sent, delivered and read
}

// Conversation is the conversation a message was charged to (conversation-based pricing,
// shared/reference/webhooks.md §5).
type Conversation struct {
	ID     string
	Origin string // business_initiated or user_initiated
	// Category is the Cloud pricing category (webhooks.md §5): marketing, utility,
	// authentication for templates (their own category), service for free-form messages.
	Category string
	Expires  time.Time
}

// Reply is a message a user sends back (auto-replies).
type Reply struct {
	From string
	Body map[string]any // the message part: {"type":"text","text":{"body":…}} …
}

// Step is the outcome of one call to Network.Step: the message's new stored status, the
// network's private state, when to call again (zero: never), and what to report.
type Step struct {
	Status  string
	State   []byte
	NextAt  time.Time
	Events  []Event
	Replies []Reply
}

// ErrUnreachable means the network did not acknowledge the hand-off; the dispatcher retries.
type ErrUnreachable struct{ Reason string }

func (e *ErrUnreachable) Error() string { return "network unreachable: " + e.Reason }

// Network moves outbound messages through their lifecycle.
type Network interface {
	// Step is called when m is due (m.NextAt ≤ now). It must be deterministic for the same
	// message, state and network configuration, so that a crash and a replay produce the same
	// receipts. It returns *ErrUnreachable while the network is down. It may take several
	// consecutive steps in one call when the later ones are due at now (zero receipt latency),
	// reporting their events in order, as if each had been its own call at now.
	Step(ctx context.Context, m store.Message, now time.Time) (Step, error)
}
