package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// The template lifecycle of the management API (issue 5 item 6, cloud-api.md §6): a template
// is created PENDING and the sandbox reviews it once DefaultTemplateReview has passed on the
// virtual clock — APPROVED, or REJECTED with reason INVALID_FORMAT when its name starts with
// RejectPrefix (the sandbox's way to script a rejection). Pausing and disabling are done with
// SetTemplateStatus (the sandbox API). Every change of status is told to OnTemplateStatus
// observers, which send the Cloud `message_template_status_update` webhook.

// DefaultTemplateReview is how long a new or edited template stays PENDING.
const DefaultTemplateReview = 10 * time.Second

// RejectPrefix marks template names the sandbox review rejects.
const RejectPrefix = "reject_"

// TemplateEvent is one status change of a template.
type TemplateEvent struct {
	Template Template
	Event    string // the new status: APPROVED, REJECTED, PAUSED, DISABLED, PENDING_DELETION…
	Reason   string // NONE unless rejected
	At       time.Time
}

type templateLife struct {
	// writes serialises the lifecycle's read-modify-writes on this node, so the review cannot
	// approve a template the sandbox paused a moment before.
	writes   sync.Mutex
	mu       sync.Mutex
	onChange []func(context.Context, TemplateEvent)
}

// templateReviewKey is the store setting that holds the review delay set through the sandbox
// (JSON {"seconds": N}), so that it survives a restart and every node of a PostgreSQL cluster
// reviews with the same delay. Absent: DefaultTemplateReview.
const templateReviewKey = "sandbox.template_review"

// TemplateID is the Graph id of a template: a 16-digit number derived from its name and
// language, so a template keeps its id across restarts and nodes without a stored counter.
func TemplateID(name, lang string) string {
	h := fnv.New64a()
	h.Write([]byte(name + "\x00" + lang))
	return fmt.Sprint(1e15 + h.Sum64()%9e15)
}

// SetTemplateReview sets how long templates stay PENDING (≤ 0: DefaultTemplateReview) and
// stores it, so it outlives a restart.
func (e *Engine) SetTemplateReview(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if err := e.st.DeleteSetting(ctx, templateReviewKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("reset template review: %w", err)
		}
		return nil
	}
	v, _ := json.Marshal(map[string]float64{"seconds": d.Seconds()})
	if err := e.st.PutSetting(ctx, templateReviewKey, v); err != nil {
		return fmt.Errorf("store template review: %w", err)
	}
	return nil
}

// TemplateReview is how long templates stay PENDING: the stored delay, else the default. It is
// read from the store each time (the review asks twice a second), so a change made on another
// node is seen at once.
func (e *Engine) TemplateReview(ctx context.Context) (time.Duration, error) {
	raw, err := e.st.GetSetting(ctx, templateReviewKey)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultTemplateReview, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read template review: %w", err)
	}
	var v struct {
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Seconds <= 0 {
		return 0, fmt.Errorf("setting %s: not a review delay: %q", templateReviewKey, raw)
	}
	return time.Duration(v.Seconds * float64(time.Second)), nil
}

// OnTemplateStatus registers fn to run after every status change of a template.
func (e *Engine) OnTemplateStatus(fn func(context.Context, TemplateEvent)) {
	e.life.mu.Lock()
	e.life.onChange = append(e.life.onChange, fn)
	e.life.mu.Unlock()
}

func (e *Engine) templateChanged(ctx context.Context, ev TemplateEvent) {
	e.life.mu.Lock()
	obs := slices.Clone(e.life.onChange)
	e.life.mu.Unlock()
	for _, fn := range obs {
		fn(ctx, ev)
	}
}

// CreateTemplate adds a template through the management API: PENDING, created now. A template
// of the same name and language is refused (Graph: code 100, "Content in this language
// already exists").
func (e *Engine) CreateTemplate(ctx context.Context, t Template) (Template, error) {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	old, err := e.lookupTemplate(ctx, t.Name, t.Language)
	if err != nil {
		return Template{}, err
	}
	if old != nil {
		return Template{}, waerr.New(waerr.InvalidParam, "Content in this language already exists: template '%s' has a '%s' version (id %s); edit it or delete it first", t.Name, t.Language, TemplateID(t.Name, t.Language))
	}
	t.Status, t.Reason, t.CreatedAt = StatusPending, "", e.clk.Now().UTC()
	if err := e.PutTemplate(ctx, t); err != nil {
		return Template{}, err
	}
	return t, nil
}

// TemplateByID finds a template by its Graph id.
func (e *Engine) TemplateByID(ctx context.Context, id string) (Template, error) {
	all, err := e.Templates(ctx)
	if err != nil {
		return Template{}, err
	}
	for _, t := range all {
		if TemplateID(t.Name, t.Language) == id {
			return t, nil
		}
	}
	return Template{}, fmt.Errorf("template %s: %w", id, store.ErrNotFound)
}

// EditTemplate replaces a template's category, parameter format and/or components
// (cloud-api.md §6: only APPROVED, REJECTED or PAUSED templates can be edited, and an approved
// template's category cannot change). The edited template is reviewed again.
func (e *Engine) EditTemplate(ctx context.Context, id, category, format string, comps *TemplateComponents) error {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	t, err := e.TemplateByID(ctx, id)
	if err != nil {
		return err
	}
	switch t.Status {
	case StatusApproved, StatusRejected, StatusPaused:
	default:
		return waerr.New(waerr.InvalidParam, "Template %s is %s; only APPROVED, REJECTED or PAUSED templates can be edited", id, t.Status)
	}
	if category != "" {
		category = strings.ToUpper(category)
		if t.Status == StatusApproved && category != t.Category {
			return waerr.New(waerr.InvalidParam, "The category of an approved template cannot change (it is %s)", t.Category)
		}
		t.Category = category
	}
	if format != "" {
		t.ParameterFormat = format
	}
	if comps != nil {
		t.Components = *comps
	}
	t.Status, t.Reason, t.CreatedAt = StatusPending, "", e.clk.Now().UTC()
	return e.PutTemplate(ctx, t)
}

// ImportTemplate stores a template as the sandbox's "Meta approved it" (sandbox
// PUT /templates/{name}/{language}): with the status given (default APPROVED), replacing one of
// the same name and language, and without the format check of PHONE_NUMBER buttons that Graph's
// create makes. It is how a template whose phone button is not a valid number reaches the
// registry, so that a /v1 send of it shows 2011 "Template Invalid Phone Number" (errors.md
// §2.7), the code for a template Meta holds with a bad number. Every other check applies. No
// status webhook is sent: nothing changed status.
func (e *Engine) ImportTemplate(ctx context.Context, t Template) (Template, error) {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	if t.Status == "" {
		t.Status = StatusApproved
	}
	t.Reason = ""
	if t.Status == StatusRejected {
		t.Reason = "INVALID_FORMAT"
	}
	t.CreatedAt = e.clk.Now().UTC()
	if err := e.putTemplate(ctx, t, true); err != nil {
		return Template{}, err
	}
	return t, nil
}

// DeleteTemplates removes every language of name, or only the one whose id is id when id is
// set; it returns how many were removed.
func (e *Engine) DeleteTemplates(ctx context.Context, name, id string) (int, error) {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	all, err := e.Templates(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range all {
		if t.Name != name || (id != "" && TemplateID(t.Name, t.Language) != id) {
			continue
		}
		key := templateKey(t.Name, t.Language)
		e.templates.beginWrite(key)
		err := e.st.DeleteSetting(ctx, key)
		e.templates.endWrite(key)
		if err != nil {
			return n, fmt.Errorf("delete template: %w", err)
		}
		n++
	}
	return n, nil
}

// SetTemplateStatus moves a template to status (the sandbox's pause, disable, reject and
// approve), with reason for a rejection, and tells the observers.
func (e *Engine) SetTemplateStatus(ctx context.Context, name, lang, status, reason string) (Template, error) {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	t, err := e.GetTemplate(ctx, name, lang)
	if err != nil {
		return Template{}, err
	}
	status = strings.ToUpper(status)
	if !inSet(status, templateStatuses) {
		return Template{}, waerr.New(waerr.InvalidParam, "status '%s' must be one of: %s", status, strings.Join(templateStatuses, ", "))
	}
	t.Status, t.Reason = status, ""
	if status == StatusRejected {
		t.Reason = strings.ToUpper(reason)
		if t.Reason == "" {
			t.Reason = "INVALID_FORMAT"
		}
	}
	// A status change keeps the definition: an imported one stays as it was imported.
	if err := e.putTemplate(ctx, t, true); err != nil {
		return Template{}, err
	}
	e.templateChanged(ctx, TemplateEvent{Template: t, Event: status, Reason: orNone(t.Reason), At: e.clk.Now().UTC()})
	return t, nil
}

// SettleTemplates reviews every PENDING template whose review delay has passed; the app calls
// it periodically. It returns the changes it made.
func (e *Engine) SettleTemplates(ctx context.Context) ([]TemplateEvent, error) {
	e.life.writes.Lock()
	defer e.life.writes.Unlock()
	all, err := e.Templates(ctx)
	if err != nil {
		return nil, err
	}
	review, err := e.TemplateReview(ctx)
	if err != nil {
		return nil, err
	}
	now := e.clk.Now().UTC()
	var out []TemplateEvent
	for _, t := range all {
		if t.Status != StatusPending || now.Before(t.CreatedAt.Add(review)) {
			continue
		}
		t.Status, t.Reason = StatusApproved, ""
		if strings.HasPrefix(t.Name, RejectPrefix) {
			t.Status, t.Reason = StatusRejected, "INVALID_FORMAT"
		}
		if err := e.putTemplate(ctx, t, true); err != nil {
			return out, err
		}
		ev := TemplateEvent{Template: t, Event: t.Status, Reason: orNone(t.Reason), At: now}
		out = append(out, ev)
		e.templateChanged(ctx, ev)
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "NONE"
	}
	return s
}
