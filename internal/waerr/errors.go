// Package waerr is the error catalogue shared by both dialects.
//
// Every condition the server can report is listed once in catalogue.yaml, with its
// On-Premises code, title and HTTP status, its Cloud (Graph) code, title, HTTP status and
// type, and where it surfaces (synchronously or in a webhook). `go generate` turns the file
// into catalogue_gen.go. The source of every entry is shared/reference/errors.md.
//
// The engine returns *Error values; the dialects render them in their own envelope.
package waerr

//go:generate go run ./gen -in catalogue.yaml -out catalogue_gen.go -docs ../../docs/errors.md

import (
	"errors"
	"fmt"
)

// Delivery says where a condition surfaces.
type Delivery string

const (
	// Sync conditions are answered in the HTTP response of the request that caused them.
	Sync Delivery = "sync"
	// Status conditions arrive later, in a `failed` status webhook.
	Status Delivery = "status"
	// SyncOrStatus conditions can surface either way (errors.md marks them S/A).
	SyncOrStatus Delivery = "sync_or_status"
	// Inbound conditions ride on an inbound message webhook (`type: unknown`).
	Inbound Delivery = "inbound"
	// System conditions arrive as top-level webhook errors.
	System Delivery = "system"
)

// OnPrem is a condition's On-Premises rendering. Code 0 means the dialect has no equivalent.
type OnPrem struct {
	Code  int
	Title string
	HTTP  int // 0 when the code only appears in webhooks
}

// Cloud is a condition's Graph API rendering. Code 0 means the dialect has no equivalent.
type Cloud struct {
	Code    int
	Subcode int
	Title   string
	HTTP    int
	Type    string // Graph error type, "OAuthException" for almost everything
}

// Condition is one entry of the catalogue.
type Condition struct {
	Name     string // stable dotted name, e.g. "req.missing_param"
	OnPrem   OnPrem
	Cloud    Cloud
	Delivery Delivery
	Meaning  string
}

// Error is a condition that happened, with details that tell the client what to fix.
type Error struct {
	Cond    *Condition
	Details string
}

func (e *Error) Error() string {
	if e.Details == "" {
		return e.Cond.Name
	}
	return e.Cond.Name + ": " + e.Details
}

// New returns an Error for c with formatted details.
func New(c *Condition, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Cond: c, Details: format}
	}
	return &Error{Cond: c, Details: fmt.Sprintf(format, args...)}
}

// As finds the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ByName returns the condition with the given dotted name.
func ByName(name string) (*Condition, bool) {
	c, ok := byName[name]
	return c, ok
}

// ByOnPremCode returns the first condition whose On-Prem code is code.
func ByOnPremCode(code int) (*Condition, bool) {
	if code == 0 {
		return nil, false // 0 marks "no On-Prem equivalent", not a code
	}
	for _, c := range All {
		if c.OnPrem.Code == code {
			return c, true
		}
	}
	return nil, false
}

var byName = func() map[string]*Condition {
	m := make(map[string]*Condition, len(All))
	for _, c := range All {
		m[c.Name] = c
	}
	return m
}()
