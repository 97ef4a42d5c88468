// Package store defines how waba keeps its state, independent of the database.
//
// Two drivers implement Store: store/sqlite (the embedded default) and store/postgres (for
// several nodes sharing one database). store/storetest is the conformance suite both pass.
// The store holds rows, not rules: validation and policy live in the engine.
package store

import (
	"context"
	"errors"
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
	CreatedAt time.Time
	UpdatedAt time.Time
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
	// it returns nil, or none is. IDs are assigned by the caller and must be unique.
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

	// GetSetting returns a stored setting value (JSON), or ErrNotFound.
	GetSetting(ctx context.Context, key string) ([]byte, error)
	// PutSetting stores or replaces a setting value.
	PutSetting(ctx context.Context, key string, value []byte) error
}
