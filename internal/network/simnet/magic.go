package simnet

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sort"
	"time"
)

// Magic numbers reach every scenario of the seeds with no setup, like payment-card test numbers
// (DESIGN §4). They live in the +1 555 010 xxxx block; the last four digits name the outcome,
// with the error code where there is one. The +1 555 123 xxxx block is reserved for plain
// healthy users and never holds magic. docs/magic-numbers.md is generated from this table by a
// test, so the two cannot drift apart.
type Magic struct {
	Number  string
	Name    string
	Outcome string // what the business sees
	apply   func(*User)
}

// MagicPrefix is the block of magic numbers.
const MagicPrefix = "1555010"

var magicTable = []Magic{
	{"15550100000", "offline", "`sent`, then nothing: the phone stays offline, the message is held 30 days and dropped (seed 004 FAQ). Bring the user online through the sandbox within 30 days and it is delivered.",
		func(u *User) { u.Online = false }},
	{"15550100001", "blocked", "`sent`, then nothing: the user blocked the business (seed 000); `/v1/contacts` still says valid.",
		func(u *User) { u.Blocked = []string{"*"} }},
	{"15550100002", "no-read-receipts", "`sent`, `delivered`, never `read`: read receipts are off.",
		func(u *User) { u.ReadReceipts = false }},
	{"15550100003", "echo", "a normal delivery, then the user replies with the text it received (opens the 24-hour window).",
		func(u *User) { u.Reply = "echo" }},
	{"15550100007", "crimea", "`sent`, then nothing: the user is in a sanctioned region (seeds 000–002).",
		func(u *User) { u.Region = "crimea" }},
	{"15550100404", "not-on-whatsapp", "`failed` with 1026 Receiver Incapable: the number has no WhatsApp account.",
		func(u *User) { u.NotOnWhatsApp = true }},
	{"15550100471", "spam-limit", "`failed` with 471 Spam Rate limit hit.",
		func(u *User) { u.SpamLimited = true }},
	{"15550100472", "experiment", "`failed` with 472: the user is part of an experiment group (seed 000).",
		func(u *User) { u.Experiment = true }},
	{"15550100480", "identity-changed", "the user's identity changed after you acknowledged it: `failed` with 480, or 1028 at send time while `show_security_notifications` is on, until `PUT /v1/contacts/{wa_id}/identity`.",
		func(u *User) { u.IdentityChangedAt = magicEpoch; u.IdentityHash = identityHash(u.WaID, 1) }},
	{"15550100500", "multi-device", "`sent`, `delivered`, then `failed` with 500 from a second device (seed 000 multi-device conflict).",
		func(u *User) { u.Devices = 2; u.BadDevice = true }},
	{"15550101026", "terms-not-accepted", "`failed` with 1026: the user has not accepted the current terms (https://wa.me/tos/20210210).",
		func(u *User) { u.AcceptedTerms = false }},
	{"15550101027", "old-android", "`failed` with 1026: WhatsApp for Android 2.21.15.14, below the 2.21.15.15 minimum.",
		func(u *User) { u.Platform = "android"; u.AppVersion = "2.21.15.14" }},
	{"15550101028", "old-ios", "`failed` with 1026: WhatsApp for iOS 2.21.170.3, below the 2.21.170.4 minimum.",
		func(u *User) { u.Platform = "ios"; u.AppVersion = "2.21.170.3" }},
	{"15550101029", "old-kaios", "`failed` with 1026: KaiOS 2.2130.9, below the 2.2130.10 minimum.",
		func(u *User) { u.Platform = "kaios"; u.AppVersion = "2.2130.9" }},
	{"15550101030", "old-web", "`failed` with 1026: WhatsApp Web 2.2132.5, below the 2.2132.6 minimum.",
		func(u *User) { u.Platform = "web"; u.AppVersion = "2.2132.5" }},
	{"15550101049", "marketing-limit", "MARKETING templates sent outside an open 24-hour window fail with 1026 (the per-user marketing limit, seed 000); utility and authentication templates and other messages are unaffected.",
		func(u *User) { u.MarketingLimit = -1 }},
}

// magicEpoch is a fixed past time for magic users' identity changes.
var magicEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// MagicNumbers returns the table, ordered by number.
func MagicNumbers() []Magic {
	out := append([]Magic(nil), magicTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func magicUser(waID string) (User, bool) {
	for _, m := range magicTable {
		if m.Number == waID {
			u := healthy(waID)
			u.Name = "Magic " + m.Name
			u.Magic = m.Name
			m.apply(&u)
			return u, true
		}
	}
	return User{}, false
}

// identityHash is a user's identity key hash for generation gen (base64 of 8 bytes, the shape
// of Meta's examples such as "UKD6Y/5SqDU=").
func identityHash(waID string, gen int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(gen))
	h := sha256.Sum256(append([]byte("identity:"+waID+":"), b[:]...))
	return base64.StdEncoding.EncodeToString(h[:8])
}
