package wa

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// idEpoch is where the millisecond part of message ids starts counting.
var idEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// IDs makes the internal integer ids of messages: 41 bits of milliseconds since 2024, 8 bits of
// node, 14 bits of sequence. They grow with time, which keeps the store's primary-key inserts
// at the end of the index, and are unique per node without asking the database.
// Wall time is used even when the sandbox clock is virtual: ids only need to be unique.
type IDs struct {
	mu   sync.Mutex
	node int64
	last int64 // last ms used
	seq  int64
	now  func() time.Time
}

// NewIDs returns a generator for the given node number (0–255).
func NewIDs(node int) *IDs {
	return &IDs{node: int64(node & 0xff), now: time.Now}
}

// NewIDsAt is NewIDs with its own clock: the bench's preload makes ids of a past time with it.
func NewIDsAt(node int, now func() time.Time) *IDs {
	return &IDs{node: int64(node & 0xff), now: now}
}

// Next returns a fresh id.
func (g *IDs) Next() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().Sub(idEpoch).Milliseconds()
	if ms <= g.last {
		ms = g.last
		g.seq++
		if g.seq >= 1<<14 {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.last = ms
	return ms<<22 | g.node<<14 | g.seq
}

// Public message id prefixes in the On-Prem style: outbound ids look like `gBEG…`, inbound ones
// like `ABGG…` (shared/reference/onprem-api.md §3.2, §18).
const (
	prefixOut = "gBEG"
	prefixIn  = "ABGG"
)

var idEncoding = base64.RawURLEncoding.Strict() // strict: one string per id

// OnPremID renders an internal id as an On-Prem message id. The 8 bytes after the id are a
// check value, so a made-up or mistyped id decodes to "not found" rather than to another
// message.
func OnPremID(id int64, inbound bool) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], check(id))
	p := prefixOut
	if inbound {
		p = prefixIn
	}
	return p + idEncoding.EncodeToString(b[:])
}

// ParseOnPremID reverses OnPremID. ok is false for anything OnPremID did not make.
func ParseOnPremID(s string) (id int64, inbound bool, ok bool) {
	switch {
	case strings.HasPrefix(s, prefixOut):
	case strings.HasPrefix(s, prefixIn):
		inbound = true
	default:
		return 0, false, false
	}
	var b [16]byte
	rest := s[len(prefixOut):]
	if idEncoding.DecodedLen(len(rest)) != len(b) {
		return 0, false, false
	}
	if n, err := idEncoding.Decode(b[:], []byte(rest)); err != nil || n != len(b) {
		return 0, false, false
	}
	id = int64(binary.BigEndian.Uint64(b[:8]))
	if binary.BigEndian.Uint64(b[8:]) != check(id) || id <= 0 {
		return 0, false, false
	}
	return id, inbound, true
}

func check(id int64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	h.Write([]byte("waba-message-id"))
	h.Write(b[:])
	return h.Sum64()
}
