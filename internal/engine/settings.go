package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// AppSettingsKey is the store setting that holds the On-Prem application settings (JSON).
const AppSettingsKey = "onprem.application"

// appSettingsTTL bounds how long a node trusts its cached settings without asking the store, so
// a PATCH on another node sharing the database is seen within this time (on this node at once).
// Wall-clock time, like the token cache: jumping the virtual clock must not matter here.
const appSettingsTTL = 5 * time.Second

// The allowed values of webhooks.max_concurrent_requests (shared/reference/onprem-api.md §9.1).
var maxConcurrentValues = []int{6, 12, 18, 24}

// autoDownloadKinds are the media kinds of media.auto_download (§9.1).
var autoDownloadKinds = []string{"image", "video", "voice", "sticker", "audio", "document"}

// AppSettings are the On-Prem application settings, `GET /v1/settings/application`
// (shared/reference/onprem-api.md §9.1). Meta's sample (docs v3.0.1):
//
//	{ "settings": { "application": {
//	    "callback_backoff_delay_ms": 3000, "callback_persist": true,
//	    "garbagecollector_enable": { "media": false, "messages": true },
//	    "heartbeat_interval": 5, "max_callback_backoff_delay_ms": 900000,
//	    "media": { "auto_download": [ "image", "video", "voice", "sticker", "audio", "document" ] },
//	    "notify_user_change_number": true, "show_security_notifications": true,
//	    "unhealthy_interval": 30, "wa_id": "16315551019",
//	    "webhooks": { "url": "https://example.com/wa-callback", "max_concurrent_requests": 12,
//	                  "message": { "sent": true, "delivered": true, "read": false } },
//	    "verbose_logging": false, "log_level": "info" } } }
//
// The JSON encoding of this struct is exactly the wire shape (the value of `application`); the
// webhook signature secret is never part of it (see WebhookSettings).
type AppSettings struct {
	// CallbackBackoffDelayMS is the linear retry step for failed callbacks: 3 s, 6 s, 9 s, …
	CallbackBackoffDelayMS int `json:"callback_backoff_delay_ms"`
	// CallbackPersist keeps unacknowledged callbacks across restarts. waba's outbox is always
	// durable, so false is stored and reported but does not make webhooks volatile.
	CallbackPersist        bool          `json:"callback_persist"`
	GarbageCollectorEnable GCSettings    `json:"garbagecollector_enable"`
	HeartbeatInterval      int           `json:"heartbeat_interval"` // seconds (multiconnect)
	MaxCallbackBackoffMS   int           `json:"max_callback_backoff_delay_ms"`
	Media                  MediaSettings `json:"media"`
	NotifyUserChangeNumber bool          `json:"notify_user_change_number"`
	// OnCallPager is the WhatsApp ID that receives critical alerts; empty when unset.
	OnCallPager string `json:"on_call_pager,omitempty"`
	PassThrough bool   `json:"pass_through"`
	// SentStatus is the older switch for `sent` status callbacks. It and Webhooks.Message.Sent
	// are one switch: setting either sets both.
	SentStatus                bool `json:"sent_status"`
	ShowSecurityNotifications bool `json:"show_security_notifications"`
	SkipReferralMediaDownload bool `json:"skip_referral_media_download"`
	UnhealthyInterval         int  `json:"unhealthy_interval"` // seconds (multiconnect)
	// WaID is the registered business number; read-only.
	WaID           string          `json:"wa_id"`
	Webhooks       WebhookSettings `json:"webhooks"`
	VerboseLogging bool            `json:"verbose_logging"`
	LogLevel       string          `json:"log_level"`
}

// GCSettings is `garbagecollector_enable`.
type GCSettings struct {
	Media    bool `json:"media"`
	Messages bool `json:"messages"`
}

// MediaSettings is `media`.
type MediaSettings struct {
	AutoDownload []string `json:"auto_download"`
}

// WebhookSettings is `webhooks`.
type WebhookSettings struct {
	// URL is the callback URL; empty when unset (then webhooks wait in the outbox).
	URL                   string           `json:"url,omitempty"`
	MaxConcurrentRequests int              `json:"max_concurrent_requests"`
	Message               MessageCallbacks `json:"message"`
	// SignatureSecret is waba's extension (On-Prem has no webhook signature, §12.1): when set,
	// every POST carries `X-Waba-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. It is
	// write-only: PATCH `webhooks.signature_secret` sets it ("" clears it), and GET shows only
	// SignatureSecretSet.
	SignatureSecret    string `json:"-"`
	SignatureSecretSet bool   `json:"signature_secret_set"`
}

// MessageCallbacks is `webhooks.message`: which outbound statuses are sent as callbacks
// (v2.41.2+).
type MessageCallbacks struct {
	Sent      bool `json:"sent"`
	Delivered bool `json:"delivered"`
	Read      bool `json:"read"`
}

// DefaultAppSettings returns the defaults of §9.1 for the business number waID.
//
// Where the reference is silent or unconfirmed:
//   - webhooks.message.sent is false, the same switch as sent_status (default false): `sent`
//     callbacks are off by default (§12.1). delivered and read are on: Meta's sample shows
//     read:false, but that sample is not a list of defaults (it also shows
//     max_concurrent_requests 12 against the documented default 6, and sent:true against
//     sent_status false), §12.1 reads delivered/read as on, and before v2.41.2 there was no
//     switch at all and read receipts always came.
//   - media.auto_download lists all six kinds (the sample); notify_user_change_number and
//     show_security_notifications are true (the sample); skip_referral_media_download is false.
func DefaultAppSettings(waID string) AppSettings {
	return AppSettings{
		CallbackBackoffDelayMS:    3000,
		CallbackPersist:           true,
		GarbageCollectorEnable:    GCSettings{Media: false, Messages: true},
		HeartbeatInterval:         5,
		MaxCallbackBackoffMS:      900000,
		Media:                     MediaSettings{AutoDownload: slices.Clone(autoDownloadKinds)},
		NotifyUserChangeNumber:    true,
		PassThrough:               true,
		SentStatus:                false,
		ShowSecurityNotifications: true,
		UnhealthyInterval:         30,
		WaID:                      waID,
		Webhooks: WebhookSettings{
			MaxConcurrentRequests: 6,
			Message:               MessageCallbacks{Sent: false, Delivered: true, Read: true},
		},
		VerboseLogging: false,
		LogLevel:       "info",
	}
}

// WantStatus reports whether a status callback of this kind (sent, delivered, read, failed,
// deleted, warning) is to be emitted. Only sent, delivered and read have switches; every other
// status is always emitted.
func (s AppSettings) WantStatus(status string) bool {
	switch status {
	case store.StatusSent:
		return s.Webhooks.Message.Sent || s.SentStatus
	case store.StatusDelivered:
		return s.Webhooks.Message.Delivered
	case store.StatusRead:
		return s.Webhooks.Message.Read
	default:
		return true
	}
}

// BackoffStep is callback_backoff_delay_ms as a duration.
func (s AppSettings) BackoffStep() time.Duration {
	return time.Duration(s.CallbackBackoffDelayMS) * time.Millisecond
}

// MaxBackoff is max_callback_backoff_delay_ms as a duration.
func (s AppSettings) MaxBackoff() time.Duration {
	return time.Duration(s.MaxCallbackBackoffMS) * time.Millisecond
}

func (s AppSettings) clone() AppSettings {
	s.Media.AutoDownload = slices.Clone(s.Media.AutoDownload)
	return s
}

// normalize restores the invariants: the two sent switches agree, the secret flag follows the
// secret, wa_id is the business number.
func (s *AppSettings) normalize(waID string) {
	sent := s.SentStatus || s.Webhooks.Message.Sent
	s.SentStatus, s.Webhooks.Message.Sent = sent, sent
	s.Webhooks.SignatureSecretSet = s.Webhooks.SignatureSecret != ""
	s.WaID = waID
	if s.Media.AutoDownload == nil {
		s.Media.AutoDownload = []string{}
	}
}

// storedAppSettings is the stored form: the wire fields plus the secret, which the wire form
// never carries.
type storedAppSettings struct {
	AppSettings
	SignatureSecret string `json:"webhooks_signature_secret,omitempty"`
}

// appSettingsState is the engine's cache of the settings. Its zero value is ready to use.
type appSettingsState struct {
	mu     sync.Mutex // serialises read-modify-write of the stored settings
	cached atomic.Pointer[cachedAppSettings]

	hooksMu sync.Mutex
	hooks   []func(ctx context.Context, old, cur AppSettings)
}

type cachedAppSettings struct {
	s       AppSettings
	expires time.Time
}

// AppSettings returns the current application settings. They are cached in memory, so the
// webhook dispatcher and the dispatch loop may call it as often as they like.
func (e *Engine) AppSettings(ctx context.Context) (AppSettings, error) {
	if c := e.settings.cached.Load(); c != nil && time.Now().Before(c.expires) {
		return c.s.clone(), nil
	}
	s, err := e.loadAppSettings(ctx)
	if err != nil {
		return AppSettings{}, err
	}
	e.settings.cached.Store(&cachedAppSettings{s: s, expires: time.Now().Add(appSettingsTTL)})
	return s.clone(), nil
}

// loadAppSettings reads the stored settings over the defaults, so a setting added in a later
// version gets its default.
func (e *Engine) loadAppSettings(ctx context.Context) (AppSettings, error) {
	st := storedAppSettings{AppSettings: DefaultAppSettings(e.business)}
	b, err := e.st.GetSetting(ctx, AppSettingsKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return AppSettings{}, fmt.Errorf("read application settings: %w", err)
	default:
		if err := json.Unmarshal(b, &st); err != nil {
			return AppSettings{}, fmt.Errorf("decode stored application settings: %w", err)
		}
	}
	s := st.AppSettings
	s.Webhooks.SignatureSecret = st.SignatureSecret
	s.normalize(e.business)
	return s, nil
}

// OnAppSettingsChange registers fn to be called after every successful PATCH or reset, with the
// settings before and after. It runs in the caller's goroutine, so it must be quick (waking the
// webhook dispatcher when webhooks.url changes, say).
func (e *Engine) OnAppSettingsChange(fn func(ctx context.Context, old, cur AppSettings)) {
	e.settings.hooksMu.Lock()
	defer e.settings.hooksMu.Unlock()
	e.settings.hooks = append(e.settings.hooks, fn)
}

func (e *Engine) settingsChanged(ctx context.Context, old, cur AppSettings) {
	e.settings.hooksMu.Lock()
	hooks := slices.Clone(e.settings.hooks)
	e.settings.hooksMu.Unlock()
	for _, fn := range hooks {
		fn(ctx, old.clone(), cur.clone())
	}
}

// PatchAppSettings applies a partial update (`PATCH /v1/settings/application`): only the fields
// present in raw change. raw is validated as a whole before anything is stored: an unknown field
// is 1010, a wrong type or value is 1009, each naming the field.
func (e *Engine) PatchAppSettings(ctx context.Context, raw []byte) (AppSettings, error) {
	e.settings.mu.Lock()
	defer e.settings.mu.Unlock()
	old, err := e.loadAppSettings(ctx)
	if err != nil {
		return AppSettings{}, err
	}
	cur := old.clone()
	if err := applyAppSettingsPatch(&cur, raw); err != nil {
		return AppSettings{}, err
	}
	cur.normalize(e.business)
	b, err := json.Marshal(storedAppSettings{AppSettings: cur, SignatureSecret: cur.Webhooks.SignatureSecret})
	if err != nil {
		return AppSettings{}, fmt.Errorf("encode application settings: %w", err)
	}
	if err := e.st.PutSetting(ctx, AppSettingsKey, b); err != nil {
		e.settings.cached.Store(nil)
		return AppSettings{}, fmt.Errorf("store application settings: %w", err)
	}
	e.settings.cached.Store(&cachedAppSettings{s: cur, expires: time.Now().Add(appSettingsTTL)})
	e.log.Info("application settings changed", "fields", patchedFields(raw))
	e.settingsChanged(ctx, old, cur)
	return cur.clone(), nil
}

// ResetAppSettings restores every default (`DELETE /v1/settings/application`), the webhook URL
// and signature secret included.
func (e *Engine) ResetAppSettings(ctx context.Context) error {
	e.settings.mu.Lock()
	defer e.settings.mu.Unlock()
	old, err := e.loadAppSettings(ctx)
	if err != nil {
		return err
	}
	if err := e.st.DeleteSetting(ctx, AppSettingsKey); err != nil {
		e.settings.cached.Store(nil)
		return fmt.Errorf("reset application settings: %w", err)
	}
	cur := DefaultAppSettings(e.business)
	cur.normalize(e.business)
	e.settings.cached.Store(&cachedAppSettings{s: cur, expires: time.Now().Add(appSettingsTTL)})
	e.log.Info("application settings reset to defaults")
	e.settingsChanged(ctx, old, cur)
	return nil
}

// patchedFields lists the top-level keys of a patch for the log (never the values: the patch
// may carry the signature secret).
func patchedFields(raw []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyAppSettingsPatch merges raw into s, or returns the first problem (fields in name order,
// so the answer is deterministic). s is left partly modified on error; callers patch a copy.
func applyAppSettingsPatch(s *AppSettings, raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return waerr.New(waerr.InvalidRequest, "Request body is empty: send a JSON object with the settings to change")
	}
	if !json.Valid(raw) {
		return waerr.New(waerr.InvalidRequest, "Request body is not valid JSON")
	}
	top, err := object(raw, "")
	if err != nil {
		return err
	}
	// sent_status and webhooks.message.sent are one switch (§9.1, §12.1).
	var sentA, sentB *bool
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "callback_backoff_delay_ms":
			s.CallbackBackoffDelayMS, err = intValue(v, k, 1, maxDelayMS)
		case "max_callback_backoff_delay_ms":
			s.MaxCallbackBackoffMS, err = intValue(v, k, 1, maxDelayMS)
		case "callback_persist":
			s.CallbackPersist, err = boolValue(v, k)
		case "garbagecollector_enable":
			err = patchGC(&s.GarbageCollectorEnable, v)
		case "heartbeat_interval":
			s.HeartbeatInterval, err = intValue(v, k, 1, 86400)
		case "unhealthy_interval":
			s.UnhealthyInterval, err = intValue(v, k, 1, 86400)
		case "media":
			err = patchMedia(&s.Media, v)
		case "notify_user_change_number":
			s.NotifyUserChangeNumber, err = boolValue(v, k)
		case "on_call_pager":
			s.OnCallPager, err = waIDValue(v, k)
		case "pass_through":
			s.PassThrough, err = boolValue(v, k)
		case "sent_status":
			var b bool
			b, err = boolValue(v, k)
			sentA = &b
		case "show_security_notifications":
			s.ShowSecurityNotifications, err = boolValue(v, k)
		case "skip_referral_media_download":
			s.SkipReferralMediaDownload, err = boolValue(v, k)
		case "verbose_logging":
			s.VerboseLogging, err = boolValue(v, k)
		case "log_level":
			s.LogLevel, err = logLevelValue(v, k)
		case "wa_id":
			// Read-only. Accepted unchanged so that a client can PATCH back what it got.
			var id string
			id, err = stringValue(v, k)
			if err == nil && id != s.WaID {
				err = waerr.New(waerr.InvalidParam, "Parameter 'wa_id' is read-only: it is the registered business number %s", s.WaID)
			}
		case "webhooks":
			sentB, err = patchWebhooks(&s.Webhooks, v)
		default:
			err = unknownField(k)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case sentA != nil && sentB != nil && *sentA != *sentB:
		return waerr.New(waerr.InvalidParam, "Parameters 'sent_status' and 'webhooks.message.sent' are the same switch and were given different values; send one of them")
	case sentA != nil:
		s.SentStatus, s.Webhooks.Message.Sent = *sentA, *sentA
	case sentB != nil:
		s.SentStatus, s.Webhooks.Message.Sent = *sentB, *sentB
	}
	return nil
}

// maxDelayMS bounds the backoff settings at one day. The reference's 3000–15000 and
// 600000–3600000 ranges are unconfirmed (§9.1), and a sandbox user wants short backoffs, so any
// positive value up to a day is accepted.
const maxDelayMS = 24 * 60 * 60 * 1000

func patchGC(g *GCSettings, raw json.RawMessage) error {
	m, err := object(raw, "garbagecollector_enable")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		path := "garbagecollector_enable." + k
		switch k {
		case "media":
			g.Media, err = boolValue(m[k], path)
		case "messages":
			g.Messages, err = boolValue(m[k], path)
		default:
			err = unknownField(path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func patchMedia(md *MediaSettings, raw json.RawMessage) error {
	m, err := object(raw, "media")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		path := "media." + k
		switch k {
		case "auto_download":
			var kinds []json.RawMessage
			if err := json.Unmarshal(m[k], &kinds); err != nil || isNull(m[k]) {
				return invalid(path, m[k], "must be an array of media kinds (%s)", strings.Join(autoDownloadKinds, ", "))
			}
			out := make([]string, 0, len(kinds))
			for i, kr := range kinds {
				kind, err := stringValue(kr, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return err
				}
				if !slices.Contains(autoDownloadKinds, kind) {
					return invalid(fmt.Sprintf("%s[%d]", path, i), kr, "must be one of %s", strings.Join(autoDownloadKinds, ", "))
				}
				if !slices.Contains(out, kind) {
					out = append(out, kind)
				}
			}
			md.AutoDownload = out
		default:
			return unknownField(path)
		}
	}
	return nil
}

// patchWebhooks merges `webhooks`; it returns the value of webhooks.message.sent when given.
func patchWebhooks(w *WebhookSettings, raw json.RawMessage) (*bool, error) {
	m, err := object(raw, "webhooks")
	if err != nil {
		return nil, err
	}
	var sent *bool
	for _, k := range sortedKeys(m) {
		path := "webhooks." + k
		v := m[k]
		switch k {
		case "url":
			w.URL, err = urlValue(v, path)
		case "max_concurrent_requests":
			var n int
			n, err = intValue(v, path, 1, 1<<30)
			if err == nil && !slices.Contains(maxConcurrentValues, n) {
				err = invalid(path, v, "must be one of 6, 12, 18, 24")
			}
			w.MaxConcurrentRequests = n
		case "message":
			sent, err = patchMessageCallbacks(&w.Message, v)
		case "signature_secret":
			w.SignatureSecret, err = secretValue(v, path)
		case "signature_secret_set":
			// The read-only indicator GET shows; accepted and ignored so that a client can
			// PATCH back what it got. Set or clear the secret with signature_secret.
			_, err = boolValue(v, path)
		default:
			err = unknownField(path)
		}
		if err != nil {
			return nil, err
		}
	}
	return sent, nil
}

func patchMessageCallbacks(mc *MessageCallbacks, raw json.RawMessage) (*bool, error) {
	m, err := object(raw, "webhooks.message")
	if err != nil {
		return nil, err
	}
	var sent *bool
	for _, k := range sortedKeys(m) {
		path := "webhooks.message." + k
		if k != "sent" && k != "delivered" && k != "read" {
			return nil, unknownField(path)
		}
		var b bool
		b, err = boolValue(m[k], path)
		if err != nil {
			return nil, err
		}
		switch k {
		case "sent":
			sent = &b
		case "delivered":
			mc.Delivered = b
		case "read":
			mc.Read = b
		}
	}
	return sent, nil
}

// object decodes a JSON object; path names it in the error ("" for the body).
func object(raw json.RawMessage, path string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		if path == "" {
			return nil, waerr.New(waerr.InvalidRequest, "Request body must be a JSON object of application settings, e.g. {\"webhooks\":{\"url\":\"https://example.com/hook\"}}")
		}
		return nil, invalid(path, raw, "must be a JSON object")
	}
	return m, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unknownField(path string) error {
	return waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not a known application setting (shared/reference/onprem-api.md §9.1 lists them)", path)
}

// invalid is 1009 naming the field, its value and what is expected.
func invalid(path string, raw json.RawMessage, want string, args ...any) error {
	v := string(raw)
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return waerr.New(waerr.InvalidParam, "Parameter '%s' has invalid value '%s': %s", path, v, fmt.Sprintf(want, args...))
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func boolValue(raw json.RawMessage, path string) (bool, error) {
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		return false, invalid(path, raw, "must be true or false")
	}
	return b, nil
}

func stringValue(raw json.RawMessage, path string) (string, error) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", invalid(path, raw, "must be a string")
	}
	return s, nil
}

// intValue accepts a JSON integer or a string holding one: §9.1 notes the backoff settings are
// "sometimes a string", so every integer setting takes both.
func intValue(raw json.RawMessage, path string, lo, hi int) (int, error) {
	want := func() error { return invalid(path, raw, "must be an integer from %d to %d", lo, hi) }
	var text string
	var num json.Number
	switch {
	case isNull(raw):
		return 0, want()
	case json.Unmarshal(raw, &text) == nil:
		text = strings.TrimSpace(text)
	case json.Unmarshal(raw, &num) == nil:
		text = num.String()
	default:
		return 0, want()
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// 3000.0 is an integer too.
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, want()
		}
		n = int64(f)
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, want()
	}
	return int(n), nil
}

// urlValue checks webhooks.url: an absolute http or https URL with a host. The reference says
// HTTPS (§9.1, §12.1); waba also accepts http so that a receiver on localhost works without a
// certificate. "" or null unsets the URL.
func urlValue(raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, err := stringValue(raw, path)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return "", invalid(path, raw, "must be an absolute https:// (or, for local testing, http://) URL with a host")
	}
	if u.Fragment != "" {
		return "", invalid(path, raw, "must not have a #fragment")
	}
	if len(s) > 2048 {
		return "", invalid(path, raw, "must be at most 2048 characters")
	}
	return s, nil
}

// secretValue checks webhooks.signature_secret: "" or null clears it.
func secretValue(raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		// The value may be the secret itself: never echo it.
		return "", waerr.New(waerr.InvalidParam, "Parameter '%s' must be a string", path)
	}
	if len(s) > 256 {
		return "", waerr.New(waerr.InvalidParam, "Parameter '%s' must be at most 256 bytes", path)
	}
	return s, nil
}

// waIDValue checks on_call_pager: a WhatsApp ID (phone number); "" or null unsets it.
func waIDValue(raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, err := stringValue(raw, path)
	if err != nil || s == "" {
		return "", err
	}
	id, ok := wa.NormalizePhone(s)
	if !ok {
		return "", invalid(path, raw, "must be a WhatsApp ID (a phone number in international format)")
	}
	return id, nil
}

// logLevelValue checks log_level. The reference documents only the default "info", so any
// short lower-case word is accepted (waba's own logging is configured at start, not here).
func logLevelValue(raw json.RawMessage, path string) (string, error) {
	s, err := stringValue(raw, path)
	if err != nil {
		return "", err
	}
	if s == "" || len(s) > 16 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "", invalid(path, raw, "must be a log level such as \"info\" or \"debug\"")
	}
	return s, nil
}
