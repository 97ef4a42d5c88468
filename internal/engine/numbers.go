package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// NumbersKey is the store setting that holds the business numbers and the Cloud app (JSON).
const NumbersKey = "cloud.numbers"

// Webhook dialects of a business number: the format its webhooks are delivered in.
const (
	DialectOnPrem = "onprem" // On-Prem bodies to /v1/settings/application webhooks.url
	DialectCloud  = "cloud"  // Graph bodies to the Cloud callback URL, signed with the app secret
)

// DefaultThroughput is a Cloud number's messages per second before 130429
// (shared/reference/cloud-api.md §8: 80 by default, upgradeable to 1,000).
const DefaultThroughput = 80

// Number is one business phone number a deployment holds (issue 10 item 1). Phone is the key
// every stored message and webhook carries (store.Message.Business); the Cloud routes find a
// number by PhoneNumberID.
type Number struct {
	Phone         string `json:"phone"` // digits, wa_id form
	PhoneNumberID string `json:"phone_number_id"`
	WABAID        string `json:"waba_id"`
	VerifiedName  string `json:"verified_name"`
	// WebhookDialect is DialectOnPrem or DialectCloud.
	WebhookDialect string `json:"webhook_dialect"`
	// CallbackURL and VerifyToken are the number's own override_callback_uri
	// (POST /{phone-number-id} webhook_configuration, cloud-api.md §3b); empty: none.
	CallbackURL string `json:"callback_url,omitempty"`
	VerifyToken string `json:"verify_token,omitempty"`
	// BatchWebhooks lets one Cloud POST carry up to 1,000 updates (opt-in; default one per POST,
	// webhooks.md §1).
	BatchWebhooks bool `json:"batch_webhooks,omitempty"`
	// Throughput is the Cloud send rate limit in messages/s (80–1000); 0 means DefaultThroughput.
	Throughput int `json:"throughput,omitempty"`
	// GraphVersion is the API version whose webhook shape the number gets ("v24.0").
	GraphVersion string `json:"graph_version,omitempty"`
}

// WABA is a WhatsApp Business Account: its subscribed-app override (POST
// /{waba-id}/subscribed_apps with override_callback_uri and verify_token, cloud-api.md §3b).
type WABA struct {
	ID          string `json:"id"`
	Subscribed  bool   `json:"subscribed"`
	CallbackURL string `json:"callback_url,omitempty"`
	VerifyToken string `json:"verify_token,omitempty"`
}

// CloudApp is the deployment's one Meta app: its secret signs Cloud webhooks
// (X-Hub-Signature-256), its callback URL and verify token are the app-level webhook
// configuration that number and WABA overrides take precedence over.
type CloudApp struct {
	ID          string `json:"id"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
	CallbackURL string `json:"callback_url,omitempty"`
}

// Registry is what NumbersKey holds.
type Registry struct {
	App     CloudApp `json:"app"`
	Numbers []Number `json:"numbers"`
	WABAs   []WABA   `json:"wabas"`
}

// Number returns the number whose Phone is phone.
func (r Registry) Number(phone string) (Number, bool) {
	i := slices.IndexFunc(r.Numbers, func(n Number) bool { return n.Phone == phone })
	if i < 0 {
		return Number{}, false
	}
	return r.Numbers[i], true
}

// NumberByID returns the number whose PhoneNumberID is id.
func (r Registry) NumberByID(id string) (Number, bool) {
	i := slices.IndexFunc(r.Numbers, func(n Number) bool { return n.PhoneNumberID == id })
	if i < 0 {
		return Number{}, false
	}
	return r.Numbers[i], true
}

// WABA returns the account with this id; an account that numbers point at but that has no
// entry yet is returned zero but for its id.
func (r Registry) WABA(id string) (WABA, bool) {
	if i := slices.IndexFunc(r.WABAs, func(w WABA) bool { return w.ID == id }); i >= 0 {
		return r.WABAs[i], true
	}
	if slices.ContainsFunc(r.Numbers, func(n Number) bool { return n.WABAID == id }) {
		return WABA{ID: id}, true
	}
	return WABA{}, false
}

// Callback is where a Cloud number's webhooks go and the verify token of that URL: the number's
// override, else its WABA's override, else the app's callback (cloud-api.md §3b, webhooks.md §3.7).
func (r Registry) Callback(n Number) (url, verifyToken string) {
	if n.CallbackURL != "" {
		return n.CallbackURL, n.VerifyToken
	}
	if w, ok := r.WABA(n.WABAID); ok && w.CallbackURL != "" {
		return w.CallbackURL, w.VerifyToken
	}
	return r.App.CallbackURL, r.App.VerifyToken
}

// numbersState caches the registry; the zero value is ready.
type numbersState struct {
	mu       sync.Mutex
	loaded   bool
	reg      Registry
	onChange []func(ctx context.Context, old, cur Registry)
}

// Registry returns the business numbers, WABAs and Cloud app. The default number (the
// engine's Business) is always present once InitRegistry ran.
//
// The result is a shared, read-only snapshot: it is not copied, because the webhook renderer
// and the Cloud send route ask for it per status and per request. Nothing may change its
// slices; UpdateRegistry builds a new registry and replaces the snapshot whole, so a snapshot
// once returned never changes.
func (e *Engine) Registry(ctx context.Context) (Registry, error) {
	e.numbers.mu.Lock()
	defer e.numbers.mu.Unlock()
	if e.numbers.loaded {
		return e.numbers.reg, nil
	}
	reg, err := e.loadRegistry(ctx)
	if err != nil {
		return Registry{}, err
	}
	e.numbers.reg, e.numbers.loaded = reg, true
	return reg, nil
}

func (e *Engine) loadRegistry(ctx context.Context) (Registry, error) {
	var reg Registry
	raw, err := e.st.GetSetting(ctx, NumbersKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reg, nil
	case err != nil:
		return reg, fmt.Errorf("read %s: %w", NumbersKey, err)
	}
	if err := json.Unmarshal(raw, &reg); err != nil {
		return reg, fmt.Errorf("setting %s: %w", NumbersKey, err)
	}
	return reg, nil
}

func (r Registry) clone() Registry {
	r.Numbers = slices.Clone(r.Numbers)
	r.WABAs = slices.Clone(r.WABAs)
	return r
}

// UpdateRegistry applies fn to the registry and stores the result; fn's error aborts with
// nothing stored. Observers registered with OnRegistryChange run after the write.
func (e *Engine) UpdateRegistry(ctx context.Context, fn func(*Registry) error) (Registry, error) {
	e.numbers.mu.Lock()
	old, err := e.loadRegistry(ctx) // re-read: another node may have written
	if err != nil {
		e.numbers.mu.Unlock()
		return Registry{}, err
	}
	cur := old.clone()
	if err := fn(&cur); err != nil {
		e.numbers.mu.Unlock()
		return Registry{}, err
	}
	if err := cur.check(); err != nil {
		e.numbers.mu.Unlock()
		return Registry{}, err
	}
	b, err := json.Marshal(cur)
	if err == nil {
		err = e.st.PutSetting(ctx, NumbersKey, b)
	}
	if err != nil {
		e.numbers.mu.Unlock()
		return Registry{}, fmt.Errorf("store %s: %w", NumbersKey, err)
	}
	e.numbers.reg, e.numbers.loaded = cur, true
	observers := slices.Clone(e.numbers.onChange)
	e.numbers.mu.Unlock()
	for _, fn := range observers {
		fn(ctx, old, cur.clone())
	}
	return cur.clone(), nil
}

// OnRegistryChange registers fn to run after every registry change made through this engine.
func (e *Engine) OnRegistryChange(fn func(ctx context.Context, old, cur Registry)) {
	e.numbers.mu.Lock()
	defer e.numbers.mu.Unlock()
	e.numbers.onChange = append(e.numbers.onChange, fn)
}

// check refuses a registry with duplicate phones or ids or an unknown dialect.
func (r Registry) check() error {
	phones, ids := map[string]bool{}, map[string]bool{}
	for _, n := range r.Numbers {
		if _, ok := wa.NormalizePhone(n.Phone); !ok || n.Phone == "" {
			return waerr.New(waerr.InvalidParam, "Business number '%s' is not a phone number in international format", n.Phone)
		}
		if phones[n.Phone] {
			return waerr.New(waerr.InvalidParam, "Business number %s exists already", n.Phone)
		}
		if n.PhoneNumberID == "" || ids[n.PhoneNumberID] || n.PhoneNumberID == n.WABAID {
			return waerr.New(waerr.InvalidParam, "Phone-number id '%s' is empty or used already", n.PhoneNumberID)
		}
		if n.WebhookDialect != DialectOnPrem && n.WebhookDialect != DialectCloud {
			return waerr.New(waerr.InvalidParam, "webhook_dialect '%s' must be '%s' or '%s'", n.WebhookDialect, DialectOnPrem, DialectCloud)
		}
		if n.Throughput != 0 && (n.Throughput < DefaultThroughput || n.Throughput > 1000) {
			return waerr.New(waerr.InvalidParam, "throughput %d must be between %d and 1000 messages per second", n.Throughput, DefaultThroughput)
		}
		phones[n.Phone], ids[n.PhoneNumberID] = true, true
	}
	return nil
}
