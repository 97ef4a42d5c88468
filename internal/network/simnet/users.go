package simnet

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as "1.5s" in JSON and YAML.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Latencies are the delays of a user's receipts. Zero values take the network's defaults.
type Latencies struct {
	Delivered Duration `json:"delivered,omitempty" yaml:"delivered,omitempty"` // after sent
	Read      Duration `json:"read,omitempty" yaml:"read,omitempty"`           // after delivered
}

// User is a simulated WhatsApp user: everything the seed documents say can change what
// happens to a message (DESIGN §4, issue 3 item 1).
type User struct {
	WaID    string `json:"wa_id" yaml:"wa_id"`
	Name    string `json:"name" yaml:"name"`
	Country string `json:"country" yaml:"country"` // ISO 3166 alpha-2, derived from the number when empty
	// Region marks a sanctioned region a calling code cannot show: crimea, donetsk, luhansk.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// NotOnWhatsApp: the number has no WhatsApp account.
	NotOnWhatsApp bool `json:"not_on_whatsapp,omitempty" yaml:"not_on_whatsapp,omitempty"`
	// Devices is how many devices the user is logged in on (1+); with BadDevice one of them
	// fails, so a message gets both delivered and failed (seed 000 troubleshooting).
	Devices   int  `json:"devices" yaml:"devices"`
	BadDevice bool `json:"bad_device,omitempty" yaml:"bad_device,omitempty"`
	Online    bool `json:"online" yaml:"online"`
	// Platform and AppVersion: below the seed's minimum versions messages fail with 1026.
	Platform      string `json:"platform" yaml:"platform"` // android, ios, kaios, web, smba, smbi
	AppVersion    string `json:"app_version" yaml:"app_version"`
	AcceptedTerms bool   `json:"accepted_terms" yaml:"accepted_terms"`
	// Blocked lists the business numbers the user blocked; "*" blocks every business.
	Blocked    []string `json:"blocked,omitempty" yaml:"blocked,omitempty"`
	Experiment bool     `json:"experiment,omitempty" yaml:"experiment,omitempty"`
	// IdentityHash is the user's identity key hash; IdentityChangedAt is when it last changed.
	// A change after a business acknowledged the previous hash blocks or fails sends (480/1028).
	IdentityHash      string    `json:"identity_hash" yaml:"identity_hash"`
	IdentityChangedAt time.Time `json:"identity_changed_at" yaml:"identity_changed_at"`
	ReadReceipts      bool      `json:"read_receipts" yaml:"read_receipts"`
	Latency           Latencies `json:"latency,omitempty" yaml:"latency,omitempty"`
	// Reply is none, echo or script; Script holds the scripted replies, used in turn.
	Reply  string   `json:"reply" yaml:"reply"`
	Script []string `json:"script,omitempty" yaml:"script,omitempty"`
	// MarketingLimit caps the marketing templates the user receives per rolling 24 hours
	// outside an open service window (0: the network default).
	MarketingLimit int `json:"marketing_limit,omitempty" yaml:"marketing_limit,omitempty"`
	// SpamLimited: the business has hit the spam rate limit for this user (471).
	SpamLimited bool `json:"spam_limited,omitempty" yaml:"spam_limited,omitempty"`
	// Magic names the magic-number scenario the user came from, if any (read-only).
	Magic string `json:"magic,omitempty" yaml:"-"`
}

// Minimum app versions of seed 000 (shared/reference/errors.md §2.4): below them, 1026.
var minVersions = map[string]string{
	"android": "2.21.15.15", "smba": "2.21.15.15",
	"ios": "2.21.170.4", "smbi": "2.21.170.4",
	"kaios": "2.2130.10",
	"web":   "2.2132.6",
}

// versionBelow compares dotted versions numerically; unparsable parts count as 0.
func versionBelow(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// outdated reports whether the user's app is older than the seed's minimum for its platform.
func (u User) outdated() bool {
	min, ok := minVersions[strings.ToLower(u.Platform)]
	return ok && u.AppVersion != "" && versionBelow(u.AppVersion, min)
}

func (u User) blocks(business string) bool {
	for _, b := range u.Blocked {
		if b == "*" || b == business {
			return true
		}
	}
	return false
}

// healthy is the default user: online, current app, terms accepted, read receipts on.
func healthy(waID string) User {
	return User{
		WaID:          waID,
		Name:          "WhatsApp User " + lastDigits(waID, 4),
		Country:       countryOf(waID),
		Devices:       1,
		Online:        true,
		Platform:      "android",
		AppVersion:    "2.26.21.70",
		AcceptedTerms: true,
		IdentityHash:  identityHash(waID, 0),
		ReadReceipts:  true,
		Reply:         "none",
	}
}

func lastDigits(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// Validate checks a user definition from the sandbox API or a scenario file.
func (u User) Validate() error {
	var p []string
	if u.Devices < 1 || u.Devices > 5 {
		p = append(p, "devices must be from 1 to 5")
	}
	switch u.Reply {
	case "none", "echo", "script":
	default:
		p = append(p, fmt.Sprintf("reply %q must be none, echo or script", u.Reply))
	}
	if u.Reply == "script" && len(u.Script) == 0 {
		p = append(p, "reply script needs at least one line in script")
	}
	switch strings.ToLower(u.Platform) {
	case "android", "ios", "kaios", "web", "smba", "smbi":
	default:
		p = append(p, fmt.Sprintf("platform %q must be android, ios, kaios, web, smba or smbi", u.Platform))
	}
	switch u.Region {
	case "", "crimea", "donetsk", "luhansk":
	default:
		p = append(p, fmt.Sprintf("region %q must be empty, crimea, donetsk or luhansk", u.Region))
	}
	if u.Latency.Delivered < 0 || u.Latency.Read < 0 {
		p = append(p, "latencies must not be negative")
	}
	if len(p) > 0 {
		return fmt.Errorf("%s", strings.Join(p, "; "))
	}
	return nil
}
