// Package simnet is the simulated WhatsApp network: users who receive, read, reply, block, go
// offline, run old app versions or live in sanctioned regions, with every outcome the seed
// documents describe (shared/reference/errors.md §5). Unknown numbers are healthy online users;
// magic numbers (magic.go) reach each scenario with no setup; any user can be configured through
// the sandbox API or a scenario file.
//
// Everything random is derived from a seed and the message id, so a scenario replays
// identically, and the next receipt of a message can be recomputed from its stored row after a
// crash (DESIGN §3).
package simnet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Network-wide rules of the seeds.
const (
	// HoldPeriod is how long WhatsApp keeps a message for an offline phone (seed 004 FAQ).
	HoldPeriod = 30 * 24 * time.Hour
	// ServiceWindow is the customer-service window after a user's last message (errors.md §2.4, 470).
	ServiceWindow = 24 * time.Hour
	// MaxPending is how long a message may wait for the network before it fails with 408
	// (errors.md §2.4: pending more than a day after downtime).
	MaxPending = 24 * time.Hour
	// retryUnreachable is how often the dispatcher retries while the network is down.
	retryUnreachable = time.Second
)

// Options configure a Net.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Seed makes latencies reproducible.
	Seed int64
	// Realistic uses slower, wider receipt latencies; the default makes sent, delivered and read
	// arrive within a few seconds so that watching a sandbox is pleasant.
	Realistic bool
	// UnknownNotOnWhatsApp makes numbers nobody configured behave as non-users instead of
	// healthy users.
	UnknownNotOnWhatsApp bool
	// TierLimit is the messaging limit: unique users a business may start conversations with
	// per rolling 24 hours (Tier 1 = 1,000, onprem-api.md §15). Over it, 471.
	TierLimit int
	// Now is the (virtual) time, for outages; nil means time.Now.
	Now func() time.Time
	// ShowSecurityNotifications reports the On-Prem setting of that name (1028 vs 480).
	ShowSecurityNotifications func(ctx context.Context) bool
	// FetchMedia downloads one `link` media of a message at hand-off (issue 5 item 3) and
	// returns why it cannot be used, or "" when it can. nil means links are not fetched.
	FetchMedia func(ctx context.Context, l MediaLink) (failure string)
	// ReceiptLatency, when set, replaces the drawn receipt delays (sent → delivered,
	// delivered → read, and the failed receipt of a user's bad device) for every user who has no
	// fixed latency of their own: 0 makes delivered and read due at once (DESIGN §8 "zero
	// simulated latency"). nil keeps the seeded distribution (a few seconds, or Realistic's).
	// A user's own fixed latency (sandbox API, scenario) still wins.
	ReceiptLatency *time.Duration
	// WindowCacheSize bounds the in-memory cache of open service windows (see windowOpen);
	// 0 means 65,536 entries, a negative value turns the cache off.
	WindowCacheSize int
}

// Net is the simulated network. Safe for concurrent use.
type Net struct {
	st   store.Store
	log  *slog.Logger
	opts Options

	mu        sync.RWMutex
	users     map[string]User   // configured users (persisted as settings simnet.user.<wa_id>)
	acks      map[string]string // wa_id → identity hash the business acknowledged
	down      bool
	outage    time.Time // API outage until (virtual time)
	clock     func() time.Time
	initiated map[string]time.Time // peer → when a business-initiated conversation began (tier)
	marketing map[string][]time.Time

	// windows caches, per business and peer, when a service window known to be open closes
	// (the newest inbound message seen in the store + ServiceWindow). See windowOpen.
	winMu   sync.Mutex
	windows map[windowKey]time.Time
	winGen  uint64 // bumped by ForgetWindows, so that a read begun before it is not cached
}

type windowKey struct{ business, peer string }

// defaultWindowCacheSize bounds the window cache when Options.WindowCacheSize is 0.
const defaultWindowCacheSize = 1 << 16

// windowCacheTTL is how long (in the network's time) a cached open window is trusted before
// the store is asked again. It bounds how long a window stays open after its inbound messages
// were deleted where this Net cannot see it (a sandbox reset on another node sharing the
// PostgreSQL database), at the cost of one store read per peer and minute.
const windowCacheTTL = time.Minute

const (
	userKeyPrefix = "simnet.user."
	ackKeyPrefix  = "simnet.identity_ack."
)

// New builds a network and loads the users saved in the store.
func New(ctx context.Context, o Options) (*Net, error) {
	if o.TierLimit == 0 {
		o.TierLimit = 1000
	}
	n := &Net{st: o.Store, log: o.Logger.With("component", "simnet"), opts: o,
		users: map[string]User{}, acks: map[string]string{}, initiated: map[string]time.Time{}, marketing: map[string][]time.Time{},
		windows: map[windowKey]time.Time{}}
	if n.opts.WindowCacheSize == 0 {
		n.opts.WindowCacheSize = defaultWindowCacheSize
	}
	saved, err := o.Store.ListSettings(ctx, userKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("load simulated users: %w", err)
	}
	for k, v := range saved {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			return nil, fmt.Errorf("simulated user %s: %w", k, err)
		}
		n.users[u.WaID] = u
	}
	acks, err := o.Store.ListSettings(ctx, ackKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("load identity acknowledgements: %w", err)
	}
	for k, v := range acks {
		n.acks[strings.TrimPrefix(k, ackKeyPrefix)] = string(v)
	}
	return n, nil
}

// LoadScenario reads a YAML scenario file (`users:` list) and saves its users.
func (n *Net) LoadScenario(ctx context.Context, path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("scenario: %w", err)
	}
	var sc struct {
		Users []yaml.Node `yaml:"users"`
	}
	if err := yaml.Unmarshal(raw, &sc); err != nil {
		return 0, fmt.Errorf("scenario %s: %w", path, err)
	}
	for i, node := range sc.Users {
		// Each user is decoded over the healthy default, so a field left out (online,
		// accepted_terms, read_receipts …) keeps its healthy value rather than Go's zero.
		var probe struct {
			WaID string `yaml:"wa_id"`
		}
		if err := node.Decode(&probe); err != nil {
			return i, fmt.Errorf("scenario %s, user %d: %w", path, i+1, err)
		}
		id, ok := wa.NormalizePhone(probe.WaID)
		if !ok {
			return i, fmt.Errorf("scenario %s, user %d: wa_id %q is not a phone number", path, i+1, probe.WaID)
		}
		u := healthy(id)
		if err := node.Decode(&u); err != nil {
			return i, fmt.Errorf("scenario %s, user %d (%s): %w", path, i+1, probe.WaID, err)
		}
		u.WaID = id
		if err := n.PutUser(ctx, n.withDefaults(u)); err != nil {
			return i, fmt.Errorf("scenario %s, user %d (%s): %w", path, i+1, probe.WaID, err)
		}
	}
	return len(sc.Users), nil
}

// withDefaults fills what a partial definition leaves out from the healthy default.
func (n *Net) withDefaults(u User) User {
	d := healthy(u.WaID)
	if u.Name == "" {
		u.Name = d.Name
	}
	if u.Country == "" {
		u.Country = d.Country
	}
	if u.Devices == 0 {
		u.Devices = d.Devices
	}
	if u.Platform == "" {
		u.Platform = d.Platform
	}
	if u.AppVersion == "" {
		u.AppVersion = d.AppVersion
	}
	if u.IdentityHash == "" {
		u.IdentityHash = d.IdentityHash
	}
	if u.Reply == "" {
		u.Reply = d.Reply
	}
	return u
}

// User returns the user behind a wa_id: a configured one, a magic one, or the default.
func (n *Net) User(waID string) User {
	n.mu.RLock()
	u, ok := n.users[waID]
	n.mu.RUnlock()
	if ok {
		return u
	}
	if m, ok := magicUser(waID); ok {
		return m
	}
	d := healthy(waID)
	if n.opts.UnknownNotOnWhatsApp {
		d.NotOnWhatsApp = true
	}
	return d
}

// Users returns the configured users.
func (n *Net) Users() []User {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]User, 0, len(n.users))
	for _, u := range n.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WaID < out[j].WaID })
	return out
}

// PutUser validates and saves a user definition.
func (n *Net) PutUser(ctx context.Context, u User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if err := n.st.PutSetting(ctx, userKeyPrefix+u.WaID, raw); err != nil {
		return fmt.Errorf("save user: %w", err)
	}
	n.mu.Lock()
	n.users[u.WaID] = u
	n.mu.Unlock()
	return nil
}

// DeleteUser forgets a configured user (it becomes the default or magic user again).
func (n *Net) DeleteUser(ctx context.Context, waID string) error {
	if err := n.st.DeleteSetting(ctx, userKeyPrefix+waID); err != nil {
		return err
	}
	n.mu.Lock()
	delete(n.users, waID)
	n.mu.Unlock()
	return nil
}

// SetDown takes the network down (true) or up. While down, nothing is handed over and
// messages wait; after a day they fail with 408.
//
// It also empties the window cache (ForgetWindows): the sandbox reset calls SetDown(false)
// right after store.ResetTraffic, which deletes the inbound messages that opened the windows.
func (n *Net) SetDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
	n.ForgetWindows()
}

// Down reports whether the network is down.
func (n *Net) Down() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.down
}

// SetOutage schedules an API outage until the given (virtual) time; a past time ends it.
func (n *Net) SetOutage(until time.Time) {
	n.mu.Lock()
	n.outage = until
	n.mu.Unlock()
}

// InOutage reports whether an API outage is under way.
func (n *Net) InOutage() bool {
	now := time.Now()
	if n.opts.Now != nil {
		now = n.opts.Now()
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return now.Before(n.outage)
}

// GatewayStatus is the On-Prem health view of the network (onprem-api.md §10): disconnected
// while the network is down, connecting during an API outage (errors.md §5 row 10).
func (n *Net) GatewayStatus() string {
	switch {
	case n.Down():
		return "disconnected"
	case n.InOutage():
		return "connecting"
	}
	return "connected"
}

// IsUser reports whether waID has a WhatsApp account. While the network is down it cannot
// tell, and says so with *network.ErrUnreachable (contacts then show processing or failed).
func (n *Net) IsUser(ctx context.Context, waID string) (bool, error) {
	if n.Down() {
		return false, &network.ErrUnreachable{Reason: "the simulated network is down"}
	}
	return !n.User(waID).NotOnWhatsApp, nil
}

// IdentityState is a user's identity as the business sees it.
type IdentityState struct {
	Hash         string
	CreatedAt    time.Time
	Acknowledged bool
}

// Identity returns the user's identity key and whether the business acknowledged it. A user
// whose identity never changed counts as acknowledged.
func (n *Net) Identity(waID string) IdentityState {
	u := n.User(waID)
	n.mu.RLock()
	ack, acked := n.acks[waID]
	n.mu.RUnlock()
	created := u.IdentityChangedAt
	return IdentityState{Hash: u.IdentityHash, CreatedAt: created,
		Acknowledged: u.IdentityChangedAt.IsZero() || acked && ack == u.IdentityHash}
}

// AckIdentity records that the business acknowledged hash (PUT /v1/contacts/{wa_id}/identity).
func (n *Net) AckIdentity(ctx context.Context, waID, hash string) error {
	cur := n.User(waID).IdentityHash
	if hash != cur {
		return waerr.New(waerr.InvalidParam, "Parameter 'hash' does not match the current identity of %s", waID)
	}
	if err := n.st.PutSetting(ctx, ackKeyPrefix+waID, []byte(hash)); err != nil {
		return err
	}
	n.mu.Lock()
	n.acks[waID] = hash
	n.mu.Unlock()
	return nil
}

// ChangeIdentity gives the user a new identity key (a reinstall or a new phone) at time at.
func (n *Net) ChangeIdentity(ctx context.Context, waID string, at time.Time) (User, error) {
	u := n.User(waID)
	gen := 1
	if !u.IdentityChangedAt.IsZero() {
		gen = int(at.UnixNano()%1000) + 2
	}
	u.IdentityHash = identityHash(waID, gen)
	u.IdentityChangedAt = at
	u.Magic = ""
	return u, n.PutUser(ctx, u)
}

// Precheck runs the synchronous checks of a send: during an API outage the send is refused
// with 1016 System overloaded / Cloud 2 (errors.md §5 row 10); while
// show_security_notifications is on, a user whose identity changed and was not acknowledged
// blocks sends with 1028 (onprem-api.md §6.2).
func (n *Net) Precheck(ctx context.Context, waID string) error {
	if n.InOutage() {
		return waerr.New(waerr.Overloaded, "The API is temporarily unavailable for maintenance; retry in a few minutes")
	}
	if n.opts.ShowSecurityNotifications == nil || !n.opts.ShowSecurityNotifications(ctx) {
		return nil
	}
	if id := n.Identity(waID); !id.Acknowledged {
		return waerr.New(waerr.IdentityAckRequired, "The identity of %s changed; acknowledge it with PUT /v1/contacts/%s/identity before sending", waID, waID)
	}
	return nil
}

// SetOnline switches a user on or offline and returns the user. Coming online makes held
// messages due now; the caller reschedules them in the store (RescheduleHeld).
func (n *Net) SetOnline(ctx context.Context, waID string, online bool) (User, error) {
	u := n.User(waID)
	u.Online = online
	u.Magic = ""
	return u, n.PutUser(ctx, u)
}

// state is the network's private progress of one message, stored with it.
type state struct {
	HeldUntil    time.Time     `json:"held_until,omitzero"`
	DeviceFailed bool          `json:"device_failed,omitempty"`
	Conversation *conversation `json:"conv,omitempty"`
}

type conversation struct {
	ID       string    `json:"id"`
	Origin   string    `json:"origin"`
	Category string    `json:"category,omitempty"`
	Expires  time.Time `json:"expires"`
}

// payloadView is what Step reads of a stored message payload.
type payloadView struct {
	Type string `json:"type"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	TTL      *string   `json:"ttl"`
	Image    *linkView `json:"image"`
	Audio    *linkView `json:"audio"`
	Video    *linkView `json:"video"`
	Document *linkView `json:"document"`
	Sticker  *linkView `json:"sticker"`
	// Template and Interactive are read for their media headers sent by link.
	Template *struct {
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type     string    `json:"type"`
				Image    *linkView `json:"image"`
				Video    *linkView `json:"video"`
				Document *linkView `json:"document"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Interactive *struct {
		Header *struct {
			Type     string    `json:"type"`
			Image    *linkView `json:"image"`
			Video    *linkView `json:"video"`
			Document *linkView `json:"document"`
		} `json:"header"`
	} `json:"interactive"`
	// Category is the template's category, stored by the engine at accept time (UTILITY,
	// MARKETING, AUTHENTICATION); empty for other types.
	Category string `json:"waba_category"`
}

// linkView is what Step reads of a media object.
type linkView struct {
	Link     string `json:"link"`
	Provider *struct {
		Name string `json:"name"`
	} `json:"provider"`
}

// Where a link media sits in a message (MediaLink.Place).
const (
	PlaceMessage           = ""                   // the message's own media object: {"type":"image","image":{…}}
	PlaceTemplateHeader    = "template header"    // template.components[type=header].parameters[].<kind>
	PlaceInteractiveHeader = "interactive header" // interactive.header.<kind>
)

// MediaLink is one media a message names by `link`, which WhatsApp downloads when it sends the
// message.
type MediaLink struct {
	Kind     string // image, audio, video, document, sticker
	Link     string
	Provider string // the On-Prem media provider's name (onprem-api.md §9.2), or ""
	Place    string // PlaceMessage, PlaceTemplateHeader or PlaceInteractiveHeader
}

// links returns every media the message names by link, in the order they appear: the
// message's own media object, a template's header parameters (cloud-api.md §2.3 "header …
// parameters … image … link"), an interactive message's media header (cloud-api.md §2.3;
// onprem-api.md §8.7 "a media header holds a media object (id, or link plus provider …)").
// Today's messages carry one at most; a template with several media parameters yields each,
// once per distinct link and kind.
func (p payloadView) links() []MediaLink {
	var out []MediaLink
	add := func(kind string, v *linkView, place string) {
		if v == nil || v.Link == "" {
			return
		}
		l := MediaLink{Kind: kind, Link: v.Link, Place: place}
		if v.Provider != nil {
			l.Provider = v.Provider.Name
		}
		for _, o := range out {
			if o.Kind == l.Kind && o.Link == l.Link && o.Provider == l.Provider && o.Place == l.Place {
				return
			}
		}
		out = append(out, l)
	}
	switch p.Type {
	case "image":
		add(p.Type, p.Image, PlaceMessage)
	case "audio":
		add(p.Type, p.Audio, PlaceMessage)
	case "video":
		add(p.Type, p.Video, PlaceMessage)
	case "document":
		add(p.Type, p.Document, PlaceMessage)
	case "sticker":
		add(p.Type, p.Sticker, PlaceMessage)
	case "template":
		if p.Template == nil {
			break
		}
		for _, c := range p.Template.Components {
			if !strings.EqualFold(c.Type, "header") {
				continue
			}
			for _, q := range c.Parameters {
				switch q.Type {
				case "image":
					add(q.Type, q.Image, PlaceTemplateHeader)
				case "video":
					add(q.Type, q.Video, PlaceTemplateHeader)
				case "document":
					add(q.Type, q.Document, PlaceTemplateHeader)
				}
			}
		}
	case "interactive":
		if p.Interactive == nil || p.Interactive.Header == nil {
			break
		}
		h := p.Interactive.Header
		switch h.Type {
		case "image":
			add(h.Type, h.Image, PlaceInteractiveHeader)
		case "video":
			add(h.Type, h.Video, PlaceInteractiveHeader)
		case "document":
			add(h.Type, h.Document, PlaceInteractiveHeader)
		}
	}
	return out
}

// pricingCategory is the Cloud conversation/pricing category of a message (webhooks.md §5):
// a template's own category in lower case, `service` for a free-form message in the window.
func (p payloadView) pricingCategory() string {
	if p.Type == "template" && p.Category != "" {
		return strings.ToLower(p.Category)
	}
	if p.Type == "template" {
		return "marketing"
	}
	return "service"
}

// marketing reports whether a message counts against the per-user marketing limit: templates
// of category MARKETING, and templates whose category is unknown.
func (p payloadView) marketing() bool {
	return p.Type == "template" && (p.Category == "" || strings.EqualFold(p.Category, "MARKETING"))
}

// Step implements network.Network. When the step it takes leaves the message due again at
// once (receipt_latency 0s: delivered and read are due the moment the message is sent), it takes
// the following steps too, up to maxChain, and reports their events together: sent, delivered
// and read become one transition with three webhooks instead of three dispatch rounds, each
// rewriting the message row and its schedule index, and the payload and state are decoded once.
// The outcome is what separate rounds at the same time would have produced.
func (n *Net) Step(ctx context.Context, m store.Message, now time.Time) (network.Step, error) {
	var st state
	if len(m.State) > 0 {
		if err := json.Unmarshal(m.State, &st); err != nil {
			return network.Step{}, fmt.Errorf("message %d state: %w", m.ID, err)
		}
	}
	var p payloadView
	_ = json.Unmarshal(m.Payload, &p)
	u := n.User(m.Peer)
	out, err := n.step(ctx, m, p, u, &st, now)
	if err != nil {
		return out, err
	}
	for range maxChain {
		if out.NextAt.IsZero() || out.NextAt.After(now) {
			break
		}
		m.Status, m.State, m.NextAt = out.Status, out.State, out.NextAt
		more, err := n.step(ctx, m, p, u, &st, now)
		if err != nil {
			break // the message stays due with what it reached; the next round tries again
		}
		more.Events = slices.Concat(out.Events, more.Events)
		more.Replies = slices.Concat(out.Replies, more.Replies)
		out = more
	}
	return out, nil
}

// maxChain caps the further steps one Step takes.
const maxChain = 4

// step takes one step of m; st is its decoded state, which the step updates.
func (n *Net) step(ctx context.Context, m store.Message, p payloadView, u User, st *state, now time.Time) (network.Step, error) {
	switch m.Status {
	case store.StatusAccepted:
		return n.handOff(ctx, m, p, u, st, now)
	case store.StatusSent:
		return n.afterSent(m, p, u, st, now)
	case store.StatusDelivered:
		return n.afterDelivered(m, p, u, st, now)
	}
	// Nothing more happens to read or failed messages.
	return network.Step{Status: m.Status, State: m.State}, nil
}

func failed(m store.Message, now time.Time, c *waerr.Condition, details string) network.Step {
	return network.Step{Status: store.StatusFailed, State: m.State,
		Events: []network.Event{{Status: store.StatusFailed, At: now, Err: c, Details: details}}}
}

func (n *Net) handOff(ctx context.Context, m store.Message, p payloadView, u User, st *state, now time.Time) (network.Step, error) {
	if now.Sub(m.CreatedAt) > MaxPending {
		// errors.md §2.4: a message still pending a day after it was accepted (the client or
		// the network was down) fails with 408.
		return failed(m, now, waerr.PendingTooLong, "The message was pending for more than a day; send it again"), nil
	}
	if n.Down() {
		return network.Step{}, &network.ErrUnreachable{Reason: "the simulated network is down"}
	}
	if p.TTL != nil {
		if ttl, ok := parseTTL(*p.TTL); ok && now.Sub(m.CreatedAt) > ttl {
			return failed(m, now, waerr.MessageExpired, "The message was not sent within its ttl"), nil
		}
	}
	template := p.Type == "template"
	windowOpen, err := n.windowOpen(ctx, m.Business, m.Peer, now)
	if err != nil {
		return network.Step{}, err
	}
	// The refusals the seeds say are reported (errors.md §5 rows 3–6, 13, and the window).
	switch {
	case u.NotOnWhatsApp:
		return failed(m, now, waerr.ReceiverIncapable, "The recipient is not a WhatsApp user"), nil
	case !u.AcceptedTerms:
		return failed(m, now, waerr.ReceiverIncapable, "The recipient has not accepted the new terms of service and privacy policy (https://wa.me/tos/20210210)"), nil
	case u.outdated():
		return failed(m, now, waerr.ReceiverIncapable, fmt.Sprintf("The recipient uses WhatsApp %s %s, older than the minimum %s", u.Platform, u.AppVersion, minVersions[strings.ToLower(u.Platform)])), nil
	case u.Experiment:
		return failed(m, now, waerr.Experiment, "The recipient is part of an experiment group"), nil
	case !n.Identity(m.Peer).Acknowledged:
		return failed(m, now, waerr.IdentityChanged, "The recipient's identity changed; acknowledge it before sending"), nil
	case u.SpamLimited:
		return failed(m, now, waerr.SpamRateLimit, "Messages to this user are limited because earlier messages were blocked or reported as spam"), nil
	case !template && !windowOpen:
		// errors.md §2.4: free-form messages need a service window opened by the user's own
		// message in the last 24 hours; a user who never wrote has none. Templates pass.
		return failed(m, now, waerr.WindowClosed, "More than 24 hours have passed since the customer last replied to this number; use a template"), nil
	case p.marketing() && !windowOpen && n.marketingCapped(u, now):
		return failed(m, now, waerr.MarketingCap, "The message was not delivered to maintain healthy ecosystem engagement (per-user marketing limit)"), nil
	case !windowOpen && n.overTier(m.Peer, now):
		return failed(m, now, waerr.SpamRateLimit, fmt.Sprintf("The business reached its messaging limit of %d unique users in 24 hours", n.opts.TierLimit)), nil
	}
	if n.opts.FetchMedia != nil {
		// WhatsApp downloads a link when it sends the message; a link it cannot use fails the
		// message (errors.md §2.6: 131053 / 1014, asynchronous when sending by link). Header
		// media of templates and interactive messages are fetched like the message's own. With
		// several links (the references describe none today) they are fetched in order and the
		// first failure wins: a failed status carries one error, and the later links need not
		// be fetched once the message cannot be sent.
		for _, l := range p.links() {
			if why := n.opts.FetchMedia(ctx, l); why != "" {
				return failed(m, now, waerr.MediaUpload, why), nil
			}
		}
	}
	conv := n.conversationFor(m, windowOpen, now)
	conv.Category = p.pricingCategory()
	st.Conversation = conv
	sent := network.Event{Status: store.StatusSent, At: now, Conversation: publicConv(conv)}
	out := network.Step{Status: store.StatusSent, Events: []network.Event{sent}}
	restrictedNow, _ := restricted(u, now)
	switch {
	case u.blocks(m.Business) || restrictedNow || p.Type == "reaction":
		// Sent and never delivered, without an error (errors.md §5 rows 2 and 8); outbound
		// reactions get only a sent status (webhooks.md §3.6).
	case !u.Online:
		st.HeldUntil = now.Add(HoldPeriod)
		out.NextAt = st.HeldUntil
	default:
		out.NextAt = now.Add(n.latency(m.ID, "delivered", u.Latency.Delivered))
	}
	out.State = mustState(*st)
	return out, nil
}

func (n *Net) afterSent(m store.Message, p payloadView, u User, st *state, now time.Time) (network.Step, error) {
	if !st.HeldUntil.IsZero() && !now.Before(st.HeldUntil) {
		// The 30-day hold ran out: dropped silently, the message stays sent (seed 004 FAQ),
		// even if the user comes online later.
		return network.Step{Status: store.StatusSent, State: m.State}, nil
	}
	if !u.Online {
		held := st.HeldUntil
		if held.IsZero() {
			held = now.Add(HoldPeriod)
			st.HeldUntil = held
		}
		return network.Step{Status: store.StatusSent, State: mustState(*st), NextAt: held}, nil
	}
	if restrictedNow, _ := restricted(u, now); u.blocks(m.Business) || restrictedNow {
		return network.Step{Status: store.StatusSent, State: m.State}, nil
	}
	st.HeldUntil = time.Time{}
	out := network.Step{Status: store.StatusDelivered,
		Events: []network.Event{{Status: store.StatusDelivered, At: now, Conversation: publicConv(st.Conversation)}}}
	switch {
	case u.Devices > 1 && u.BadDevice:
		out.NextAt = now.Add(n.latency(m.ID, "device", 0))
	case u.ReadReceipts:
		out.NextAt = now.Add(n.latency(m.ID, "read", u.Latency.Read))
	default:
		out.Replies = n.replies(m, p, u)
	}
	out.State = mustState(*st)
	return out, nil
}

func (n *Net) afterDelivered(m store.Message, p payloadView, u User, st *state, now time.Time) (network.Step, error) {
	if u.Devices > 1 && u.BadDevice && !st.DeviceFailed {
		// Seed 000: a multi-device user can produce both delivered and failed; delivered
		// stays authoritative, so the stored status remains delivered. The code of the
		// failed entry is undocumented; errors.md §5 row 9 suggests 500.
		st.DeviceFailed = true
		out := network.Step{Status: store.StatusDelivered, State: mustState(*st),
			Events: []network.Event{{Status: store.StatusFailed, At: now, Err: waerr.SendFailed, Details: "One of the recipient's devices could not receive the message"}}}
		if u.ReadReceipts {
			out.NextAt = now.Add(n.latency(m.ID, "read", u.Latency.Read))
		}
		return out, nil
	}
	if !u.ReadReceipts {
		return network.Step{Status: store.StatusDelivered, State: m.State}, nil
	}
	return network.Step{Status: store.StatusRead, State: m.State,
		Events:  []network.Event{{Status: store.StatusRead, At: now, Conversation: publicConv(st.Conversation)}},
		Replies: n.replies(m, p, u)}, nil
}

// replies are the user's automatic answers to a message they just read (or received, without
// read receipts).
func (n *Net) replies(m store.Message, p payloadView, u User) []network.Reply {
	var text string
	switch u.Reply {
	case "echo":
		if p.Text != nil {
			text = p.Text.Body
		} else {
			text = "Got your " + p.Type + " message"
		}
	case "script":
		if len(u.Script) > 0 {
			text = u.Script[int(n.rand(m.ID, "script")%uint64(len(u.Script)))]
		}
	}
	if text == "" {
		return nil
	}
	return []network.Reply{{From: m.Peer, Body: map[string]any{"type": "text", "text": map[string]any{"body": text}}}}
}

// windowOpen reports whether the customer-service window of peer with business is open at now:
// peer wrote to business less than ServiceWindow ago.
//
// Inbound messages are written by the dispatcher (dispatch.Inbound, replies), which simnet does
// not see, so the cache only remembers windows known to be open, with the time they close.
// A newer inbound message can only move that time later, never earlier, so a cached "open
// until T" with now < T is never wrong; anything else (a miss, or a cached window that has
// closed since) asks the store, which sees the newest inbound message. The one thing that
// removes inbound messages, the sandbox reset (store.ResetTraffic), must call ForgetWindows;
// a reset by another node is seen within windowCacheTTL.
func (n *Net) windowOpen(ctx context.Context, business, peer string, now time.Time) (bool, error) {
	key := windowKey{business, peer}
	var gen uint64
	if n.opts.WindowCacheSize > 0 {
		n.winMu.Lock()
		until, hit := n.windows[key]
		gen = n.winGen
		n.winMu.Unlock()
		if hit && now.Before(until) {
			return true, nil
		}
	}
	t, ok, err := n.st.LastInbound(ctx, business, peer)
	if err != nil {
		return false, fmt.Errorf("service window: %w", err)
	}
	open := ok && now.Sub(t) < ServiceWindow
	if n.opts.WindowCacheSize > 0 {
		n.winMu.Lock()
		switch {
		case gen != n.winGen:
			// ForgetWindows ran during the read: what it read may be gone.
		case open:
			if len(n.windows) >= n.opts.WindowCacheSize {
				n.pruneWindows(now)
			}
			until := t.Add(ServiceWindow)
			if ttl := now.Add(windowCacheTTL); ttl.Before(until) {
				until = ttl
			}
			n.windows[key] = until
		default:
			delete(n.windows, key)
		}
		n.winMu.Unlock()
	}
	return open, nil
}

// pruneWindows makes room in the full window cache: it drops the windows that have closed,
// and if that frees less than a quarter of the cache, arbitrary entries until it does (a
// dropped entry only costs one store read later). Called with winMu held.
func (n *Net) pruneWindows(now time.Time) {
	for k, until := range n.windows {
		if !now.Before(until) {
			delete(n.windows, k)
		}
	}
	for k := range n.windows {
		if len(n.windows) < n.opts.WindowCacheSize*3/4 {
			break
		}
		delete(n.windows, k)
	}
}

// ForgetWindows empties the cache of open service windows. Call it after inbound messages
// were deleted from the store (the sandbox reset, store.ResetTraffic): the cache assumes a
// window, once seen open, stays open until 24 hours after the message that opened it.
func (n *Net) ForgetWindows() {
	n.winMu.Lock()
	clear(n.windows)
	n.winGen++
	n.winMu.Unlock()
}

// overTier applies the messaging limit to business-initiated conversations: a new user beyond
// TierLimit unique users in the rolling 24 hours is refused (onprem-api.md §15). Kept in memory:
// after a restart the count starts again, erring on the side of delivering.
func (n *Net) overTier(peer string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.initiated[peer]; ok && now.Sub(t) < ServiceWindow {
		return false
	}
	for p, t := range n.initiated {
		if now.Sub(t) >= ServiceWindow {
			delete(n.initiated, p)
		}
	}
	if len(n.initiated) >= n.opts.TierLimit {
		return true
	}
	n.initiated[peer] = now
	return false
}

// marketingCapped applies the per-user marketing limit to marketing templates (payloadView.
// marketing). A limit of -1 refuses every marketing template.
func (n *Net) marketingCapped(u User, now time.Time) bool {
	if u.MarketingLimit == 0 {
		return false
	}
	if u.MarketingLimit < 0 {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	recent := n.marketing[u.WaID][:0]
	for _, t := range n.marketing[u.WaID] {
		if now.Sub(t) < ServiceWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= u.MarketingLimit {
		n.marketing[u.WaID] = recent
		return true
	}
	n.marketing[u.WaID] = append(recent, now)
	return false
}

// conversationFor names the conversation a message opens or joins: user-initiated inside the
// service window, business-initiated outside it; one id per business, user, origin and day.
func (n *Net) conversationFor(m store.Message, windowOpen bool, now time.Time) *conversation {
	origin := "business_initiated"
	if windowOpen {
		origin = "user_initiated"
	}
	day := now.UTC().Truncate(24 * time.Hour)
	h := sha256.Sum256([]byte(m.Business + "|" + m.Peer + "|" + origin + "|" + day.Format(time.DateOnly)))
	return &conversation{ID: hex.EncodeToString(h[:16]), Origin: origin, Expires: now.Add(ServiceWindow).Truncate(time.Second)}
}

func publicConv(c *conversation) *network.Conversation {
	if c == nil {
		return nil
	}
	return &network.Conversation{ID: c.ID, Origin: c.Origin, Category: c.Category, Expires: c.Expires}
}

// latency draws a receipt delay for message id, deterministic for the seed, or uses the
// user's fixed setting, or Options.ReceiptLatency.
func (n *Net) latency(id int64, what string, fixed Duration) time.Duration {
	if fixed > 0 {
		return time.Duration(fixed)
	}
	if n.opts.ReceiptLatency != nil {
		return max(*n.opts.ReceiptLatency, 0)
	}
	r := n.rand(id, what)
	var lo, span time.Duration
	switch {
	case n.opts.Realistic && what == "read":
		lo, span = 30*time.Second, 20*time.Minute
	case n.opts.Realistic:
		lo, span = time.Second, 9*time.Second
	case what == "read":
		lo, span = time.Second, 2*time.Second
	default:
		lo, span = 200*time.Millisecond, 800*time.Millisecond
	}
	return lo + time.Duration(r%uint64(span))
}

func (n *Net) rand(id int64, what string) uint64 {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n.opts.Seed))
	binary.BigEndian.PutUint64(b[8:], uint64(id))
	h := sha256.Sum256(append(b[:], what...))
	return binary.BigEndian.Uint64(h[:8])
}

func mustState(st state) []byte {
	b, _ := json.Marshal(st)
	return b
}

// parseTTL reads On-Prem's deprecated ttl: seconds ("3600") or an ISO-8601 duration of days,
// hours, minutes and seconds ("P4D", "PT1H30M").
func parseTTL(s string) (time.Duration, bool) {
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && !strings.HasPrefix(s, "P") {
		return time.Duration(secs) * time.Second, true
	}
	if !strings.HasPrefix(s, "P") {
		return 0, false
	}
	var d time.Duration
	inTime := false
	num := 0
	for _, r := range s[1:] {
		switch {
		case r == 'T':
			inTime = true
		case r >= '0' && r <= '9':
			num = num*10 + int(r-'0')
		default:
			unit := map[rune]time.Duration{'D': 24 * time.Hour, 'W': 7 * 24 * time.Hour, 'H': time.Hour, 'S': time.Second}[r]
			if r == 'M' {
				unit = time.Minute
				if !inTime {
					unit = 30 * 24 * time.Hour
				}
			}
			if unit == 0 {
				return 0, false
			}
			d += time.Duration(num) * unit
			num = 0
		}
	}
	return d, d > 0
}

var _ network.Network = (*Net)(nil)
