// Package store defines how waba keeps its state, independent of the database.
//
// Two drivers implement Store: store/sqlite (the embedded default) and store/postgres (for
// several nodes sharing one database). store/storetest is the conformance suite both pass.
// The store holds rows, not rules: validation and policy live in the engine.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors every driver returns (wrapped or not) so callers can use errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
)

// Direction of a message relative to the business.
type Direction string

const (
	Outbound Direction = "out"
	Inbound  Direction = "in"
)

// Message statuses kept on the row. Outbound: accepted → sent → delivered → read, or failed.
// Inbound: received → read (marked by the business).
const (
	StatusAccepted  = "accepted"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
	StatusReceived  = "received"
)

// Message is one stored message. ID is the internal integer key; the public ids clients see
// (On-Prem `gBEG…`, Cloud `wamid.…`) are derived from it by package wa, so no second unique
// index is needed (shared/reference/performance.md: the writer's CPU is the limit).
type Message struct {
	ID        int64
	Direction Direction
	Business  string // the business phone number (wa_id form) that sent or received it
	Peer      string // the customer's wa_id
	Type      string // text, image, template, …
	Payload   []byte // the normalised message JSON, as accepted
	Status    string
	Shard     int // crc32(peer) % shards at acceptance; the dispatch loop claims by shard
	// NextAt is the (virtual) time the dispatch loop next has work for this message: hand an
	// accepted message to the network, produce its next receipt, end a 30-day hold. Zero means
	// nothing is scheduled (a final state, or an inbound message).
	NextAt time.Time
	// State is the network's private progress for this message (JSON: devices, attempt count,
	// hold deadline …). The store keeps it opaque; an empty state reads back as nil.
	State     []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Transition moves one stored message on: new status, state and next due time. A zero NextAt
// takes the message off the dispatch schedule.
type Transition struct {
	ID     int64
	Status string
	State  []byte
	NextAt time.Time
	At     time.Time // becomes updated_at
}

// Webhook kinds.
const (
	WebhookStatus  = "status"  // an entry of `statuses`
	WebhookMessage = "message" // an inbound message (with its contact)
	WebhookError   = "error"   // a top-level `errors` entry

	// Cloud kinds: the payload is one Cloud change `value` (webhooks.md §1.1) holding one status,
	// message or error. Their own kinds keep a number's dialect switch from mixing formats.
	WebhookCloudStatus  = "cloud.status"
	WebhookCloudMessage = "cloud.message"
	WebhookCloudError   = "cloud.error"
	// WebhookCloudTemplate is a `message_template_status_update` (webhooks.md §6); its payload
	// is {"time":<unix>,"value":{…}}.
	WebhookCloudTemplate = "cloud.template"
)

// Webhook states.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
)

// Webhook is one event waiting in the durable outbox, or delivered. The dispatcher batches
// several into one POST. Events of one message are delivered in id order: a webhook is not
// claimed while an older pending webhook of the same message exists.
type Webhook struct {
	ID        int64
	Business  string // the business number whose endpoint receives it
	MessageID int64  // the message it is about; 0 for none
	Kind      string
	Payload   []byte // the entry's JSON in the number's dialect (for messages: {"contact":…,"message":…})
	State     string
	Attempts  int
	DueAt     time.Time // (virtual) time of the next attempt
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookResult records the outcome of one POST for the webhooks it carried.
type WebhookResult struct {
	IDs       []int64
	Delivered bool
	NextDue   time.Time // when not delivered: the next attempt
	Error     string    // when not delivered: why
	At        time.Time
}

// Attempt is one POST to a webhook endpoint, for the attempt log.
type Attempt struct {
	ID         int64
	Business   string
	URL        string
	Request    []byte // the body sent
	Status     int    // HTTP status, 0 when no answer
	Response   []byte // the first bytes of the answer
	LatencyMS  int64
	Error      string
	WebhookIDs []int64
	At         time.Time
}

// WebhookFilter selects webhooks for listing; zero fields match everything.
type WebhookFilter struct {
	State     string
	MessageID int64
	IDs       []int64 // only these webhooks (nil: any)
	Limit     int     // default 100
}

// Batch is a set of writes applied in one transaction: either all of it is durable when Apply
// returns nil, or none of it is. Messages are inserted first, then the transitions are applied
// in order (so a batch may insert a message and move it on; of several transitions of one
// message the last wins), then the webhooks are inserted. New webhooks get their ids from the
// store, increasing in slice order and never reused; Webhook.ID is ignored and not written back.
// A webhook with an empty State is stored as WebhookPending.
type Batch struct {
	Messages    []Message
	Transitions []Transition
	Webhooks    []Webhook
}

// Role of an On-Prem user (shared/reference/onprem-api.md §2.3).
type Role string

const (
	RoleAdmin Role = "ROLE_ADMIN"
	RoleUser  Role = "ROLE_USER"
)

// User is an On-Prem API user. PasswordHash is a bcrypt hash; the plain password is never stored.
type User struct {
	Username           string
	PasswordHash       string
	Role               Role
	MustChangePassword bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Token is a login token. Only its SHA-256 is stored, so a copy of the database cannot be
// replayed as credentials.
type Token struct {
	Hash      []byte
	Username  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Media origins.
const (
	MediaUpload  = "upload"  // uploaded by the business (POST /v1/media)
	MediaInbound = "inbound" // sent by a (simulated) WhatsApp user
)

// Media is one stored media file's metadata; the bytes are kept apart (a file beside the SQLite
// database, rows of media_blobs in PostgreSQL) and streamed in and out.
type Media struct {
	ID        string // a lower-case UUID the server generates (ValidMediaID); never user input
	Business  string // the business number it belongs to
	MimeType  string // as it will be served, e.g. "image/jpeg", "audio/ogg; codecs=opus"
	SHA256    string // hex digest of the bytes, computed by the driver as it writes them
	Size      int64  // bytes, counted by the driver as it writes them
	Filename  string // documents: the sender's file name; may be empty
	Origin    string // MediaUpload or MediaInbound
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ValidMediaID reports whether id is a canonical lower-case UUID (8-4-4-4-12 hex digits). Drivers
// refuse any other id, so an id can safely name a file.
func ValidMediaID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// ErrInvalidMediaID is returned for an id that ValidMediaID refuses.
var ErrInvalidMediaID = errors.New("store: invalid media id")

// DueWebhooksSkipper is implemented by drivers that can leave given ids out of DueWebhooks in
// the query itself (both drivers of this module do). The webhook dispatcher uses it to read
// past the webhooks already on their way without scanning them.
type DueWebhooksSkipper interface {
	// DueWebhooksExcept is DueWebhooks without the webhooks whose ids are in skip (the ones
	// being sent): they are neither returned nor counted against limit. A skipped webhook
	// does not hold back the newer ones of its message: the caller knows what it is sending
	// and holds them back itself (webhook.inOrder).
	DueWebhooksExcept(ctx context.Context, now time.Time, limit int, skip []int64) ([]Webhook, error)
}

// Store is implemented by every driver. Methods are safe for concurrent use.
type Store interface {
	// Migrate applies the embedded migrations that have not run yet. Drivers call it from
	// Open as well; it is idempotent and safe to run from several processes at once.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database. The caller stops using the store first.
	Close() error

	// InsertMessages stores all messages in one transaction: either every row is durable when
	// it returns nil, or none is. IDs are assigned by the caller and must be unique: a duplicate
	// (stored or within the batch) fails the whole call with ErrExists.
	InsertMessages(ctx context.Context, msgs []Message) error
	// GetMessage returns the message with the given id, or ErrNotFound.
	GetMessage(ctx context.Context, id int64) (Message, error)
	// UpdateMessageStatus sets the status of a message of the given direction, or returns
	// ErrNotFound when no such message exists.
	UpdateMessageStatus(ctx context.Context, id int64, dir Direction, status string, at time.Time) error
	// CountMessages counts the stored messages of one direction.
	CountMessages(ctx context.Context, dir Direction) (int64, error)

	// CreateUser stores a new user, or returns ErrExists.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns a user, or ErrNotFound.
	GetUser(ctx context.Context, username string) (User, error)
	// ListUsers returns every user ordered by username.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdatePassword replaces a user's hash and must-change flag, or returns ErrNotFound.
	UpdatePassword(ctx context.Context, username, hash string, mustChange bool, at time.Time) error
	// DeleteUser removes a user and every token of theirs, or returns ErrNotFound.
	DeleteUser(ctx context.Context, username string) error

	// CreateToken stores a token.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns the token with the given hash, or ErrNotFound. Expiry is the caller's check.
	GetToken(ctx context.Context, hash []byte) (Token, error)
	// DeleteToken revokes one token; deleting a missing token is not an error.
	DeleteToken(ctx context.Context, hash []byte) error
	// DeleteUserTokens revokes every token of a user (after a password change, say).
	DeleteUserTokens(ctx context.Context, username string) error

	// Apply writes a batch in one transaction (see Batch). A transition of a missing message
	// fails the whole batch with ErrNotFound, a duplicate message id with ErrExists.
	Apply(ctx context.Context, b Batch) error
	// DueMessages returns up to limit messages of one shard whose NextAt is set and not after
	// now, oldest NextAt first (then by id); limit <= 0 returns none. Each shard has one owner,
	// which serialises its claims.
	DueMessages(ctx context.Context, shard int, now time.Time, limit int) ([]Message, error)
	// NextDue returns the earliest NextAt of a shard, or ok=false when nothing is scheduled.
	NextDue(ctx context.Context, shard int) (t time.Time, ok bool, err error)
	// RescheduleHeld sets NextAt to at for every outbound message to peer that is in status
	// and scheduled later than at (a user who comes online gets their held messages now). It
	// returns how many it moved.
	RescheduleHeld(ctx context.Context, peer, status string, at time.Time) (int, error)
	// LastInbound returns the time of the newest inbound message from peer to business, or
	// ok=false when the peer never wrote (the 24-hour customer-service window).
	LastInbound(ctx context.Context, business, peer string) (t time.Time, ok bool, err error)
	// ListMessages returns the newest messages (both directions) with peer, newest first (by
	// id: ids grow with time); an empty peer lists all; limit <= 0 means 100.
	ListMessages(ctx context.Context, peer string, limit int) ([]Message, error)

	// DueWebhooks returns up to limit pending webhooks with DueAt not after now, oldest DueAt
	// first (then by id), skipping any whose message (MessageID != 0) has an older (smaller id)
	// pending webhook due later than it; limit <= 0 returns none. So a webhook is returned only
	// with every older pending webhook of its message, and after them: the caller keeps a
	// message's lifecycle order by sending them in one POST in id order, or only the oldest
	// and the rest in a later round (webhook.inOrder). With zero receipt latency a message's
	// sent, delivered and read are all due at once and travel together.
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]Webhook, error)
	// NextWebhookDue returns the earliest DueAt of a pending webhook that the per-message rule
	// of DueWebhooks does not hold back, or ok=false. (A webhook held back becomes claimable
	// only through RecordAttempt or Redeliver, so a dispatcher that sleeps until this time never
	// spins on webhooks it cannot claim.)
	NextWebhookDue(ctx context.Context) (t time.Time, ok bool, err error)
	// RecordAttempt stores the attempt and applies its result to the webhooks it carried
	// (delivered, or attempts+1 with NextDue and Error) in one transaction; it returns the
	// attempt's id. The attempt is linked to a.WebhookIDs and r.IDs together; r.IDs that no
	// longer exist (after ResetTraffic) are skipped, not an error. Delivery sets State and
	// UpdatedAt only: Attempts counts the failed attempts.
	RecordAttempt(ctx context.Context, a Attempt, r WebhookResult) (int64, error)
	// GetWebhook returns one webhook, or ErrNotFound.
	GetWebhook(ctx context.Context, id int64) (Webhook, error)
	// ListWebhooks returns webhooks matching f, newest (highest id) first.
	ListWebhooks(ctx context.Context, f WebhookFilter) ([]Webhook, error)
	// Redeliver makes the given webhooks pending again, due at at (delivered ones included);
	// it returns how many exist. Attempts, LastError and UpdatedAt are left as they are.
	Redeliver(ctx context.Context, ids []int64, at time.Time) (int, error)
	// RescheduleWebhooks moves every pending webhook due after at to at (used when the
	// endpoint changes or the operator asks to retry now); it returns how many moved.
	RescheduleWebhooks(ctx context.Context, at time.Time) (int, error)
	// ListAttempts returns the newest attempts, newest first, each with WebhookIDs (ascending);
	// with webhookID > 0 only the attempts that carried that webhook; limit <= 0 means 100.
	ListAttempts(ctx context.Context, webhookID int64, limit int) ([]Attempt, error)
	// CountWebhooks counts webhooks in a state.
	CountWebhooks(ctx context.Context, state string) (int64, error)
	// ResetTraffic deletes every message, webhook and attempt (the sandbox's reset); users,
	// tokens and settings stay.
	ResetTraffic(ctx context.Context) error

	// GetSetting returns a stored setting value (JSON), or ErrNotFound.
	GetSetting(ctx context.Context, key string) ([]byte, error)
	// PutSetting stores or replaces a setting value.
	PutSetting(ctx context.Context, key string, value []byte) error
	// DeleteSetting removes a setting; removing a missing one is not an error.
	DeleteSetting(ctx context.Context, key string) error
	// ListSettings returns every setting whose key starts with prefix, by key.
	ListSettings(ctx context.Context, prefix string) (map[string][]byte, error)

	// CreateMedia stores m with the bytes read from body (to EOF) and returns the stored row:
	// m with Size and SHA256 set from those bytes (the values in m are ignored). The bytes are
	// streamed, never held whole in memory; enforcing a size limit is the caller's job (a body
	// whose Read fails stores nothing and the error is returned, wrapped). A duplicate id is
	// ErrExists (the existing media is untouched), an id ValidMediaID refuses ErrInvalidMediaID.
	CreateMedia(ctx context.Context, m Media, body io.Reader) (Media, error)
	// OpenMedia returns a media's metadata and a reader of its bytes, which the caller closes,
	// or ErrNotFound. Expiry is the caller's check.
	OpenMedia(ctx context.Context, id string) (Media, io.ReadCloser, error)
	// DeleteMedia removes a media and its bytes, or returns ErrNotFound.
	DeleteMedia(ctx context.Context, id string) error
	// DeleteExpiredMedia removes every media whose ExpiresAt is at or before before, with its
	// bytes, and returns how many it removed.
	DeleteExpiredMedia(ctx context.Context, before time.Time) (int, error)
}

// WriterStats is what a store's single write path has done since it opened: transactions
// committed (or rolled back), the callers' writes they carried, the time the writer was busy
// (running work and committing) and the part of it spent in commit (writing the WAL).
//
// Syncs and Sync are the fsyncs that made the commits durable and their time: SQLite's writer
// commits without fsync and a separate syncer fsyncs the write-ahead log before it answers the
// callers, so Sync is not part of Busy.
type WriterStats struct {
	Transactions int64
	Jobs         int64
	Busy         time.Duration
	Commit       time.Duration
	Syncs        int64
	Sync         time.Duration
}

// WriterStatser is implemented by stores whose writes all go through one writer (SQLite), so
// that /metrics and `waba bench` can show how close that writer is to saturation.
type WriterStatser interface {
	WriterStats() WriterStats
}
