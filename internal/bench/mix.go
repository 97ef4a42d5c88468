package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Kinds of message the load can send. Each has one valid On-Prem body (bodyGen.append).
const (
	KindText        = "text"
	KindTemplate    = "template"
	KindMedia       = "media"
	KindInteractive = "interactive"
)

var kinds = []string{KindText, KindTemplate, KindMedia, KindInteractive}

// MixEntry is one kind of message and its weight in the mix.
type MixEntry struct {
	Kind   string `json:"kind"`
	Weight int    `json:"weight"`
}

// Mix is the share of each kind of message, as weights (percentages by convention).
type Mix []MixEntry

// DefaultMix is text=70,template=10,media=10,interactive=10.
func DefaultMix() Mix {
	return Mix{{KindText, 70}, {KindTemplate, 10}, {KindMedia, 10}, {KindInteractive, 10}}
}

// ParseMix reads "text=70,template=10,media=10,interactive=10". Kinds left out get weight 0;
// at least one weight must be positive.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("mix %q: want kind=weight, e.g. text=70", part)
		}
		known := false
		for _, kind := range kinds {
			known = known || kind == k
		}
		if !known {
			return nil, fmt.Errorf("mix: unknown kind %q; use %s", k, strings.Join(kinds, ", "))
		}
		if seen[k] {
			return nil, fmt.Errorf("mix: %s is given twice", k)
		}
		seen[k] = true
		w, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || w < 0 || w > 1000000 {
			return nil, fmt.Errorf("mix: weight of %s must be a whole number from 0 to 1000000, got %q", k, v)
		}
		total += w
		m = append(m, MixEntry{k, w})
	}
	if total == 0 {
		return nil, fmt.Errorf("mix %q: at least one weight must be positive", s)
	}
	return m, nil
}

func (m Mix) String() string {
	parts := make([]string, 0, len(m))
	for _, e := range m {
		parts = append(parts, e.Kind+"="+strconv.Itoa(e.Weight))
	}
	return strings.Join(parts, ",")
}

// schedule spreads the kinds evenly over one cycle of sum(weights) messages (smooth weighted
// round robin), so a 70/10/10/10 mix never sends a burst of one kind.
func (m Mix) schedule() []string {
	total := 0
	for _, e := range m {
		total += e.Weight
	}
	// Reduce by the common divisor so the cycle stays short (70/10/10/10 → 7/1/1/1).
	g := 0
	for _, e := range m {
		g = gcd(g, e.Weight)
	}
	cur := make([]int, len(m))
	out := make([]string, 0, total/g)
	for range total / g {
		best := -1
		for i, e := range m {
			cur[i] += e.Weight / g
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total / g
		out = append(out, m[best].Kind)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// bodyGen builds request bodies: kind from the mix schedule, recipient round robin over
// 1555123xxxx (the block DESIGN §4 reserves for plain healthy users, so no magic behaviour).
type bodyGen struct {
	sched      []string
	recipients int64
	// invalidEvery, when positive, leaves "to" out of every n-th body (tests use it to check
	// that errors are counted by code).
	invalidEvery int64
	// mediaID, when set, is sent as the image id; otherwise the image is a link.
	mediaID string
}

// appendBody appends the body of message seq to dst.
//
// The bodies follow shared/reference/onprem-api.md: text §8.3, image by link §8.4, reply
// buttons §8.7, template §14.1. The template is hello_world/en_US without components: it is the
// one template every WABA starts with (issue 5), and it has no parameters, so adding body
// parameters would make it fail the parameter-count check (2000) once templates are checked.
func (g *bodyGen) appendBody(dst []byte, seq int64) []byte {
	kind := g.sched[seq%int64(len(g.sched))]
	dst = append(dst, '{')
	if g.invalidEvery <= 0 || (seq+1)%g.invalidEvery != 0 {
		dst = append(dst, `"to":"1555123`...)
		r := seq % g.recipients
		dst = append(dst, byte('0'+r/1000%10), byte('0'+r/100%10), byte('0'+r/10%10), byte('0'+r%10))
		dst = append(dst, `",`...)
	}
	switch kind {
	case KindTemplate:
		dst = append(dst, `"type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`...)
	case KindMedia:
		// By id when the setup uploaded one: a link is fetched at hand-off (as WhatsApp does),
		// which would measure the link's server, and example.com is unreachable offline.
		if g.mediaID != "" {
			dst = append(dst, `"type":"image","image":{"id":"`...)
			dst = append(dst, g.mediaID...)
			dst = append(dst, `","caption":"waba bench `...)
		} else {
			dst = append(dst, `"type":"image","image":{"link":"https://example.com/waba-bench.jpg","caption":"waba bench `...)
		}
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, `"}}`...)
	case KindInteractive:
		dst = append(dst, `"type":"interactive","interactive":{"type":"button","body":{"text":"waba bench `...)
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, `: confirm?"},"action":{"buttons":[{"type":"reply","reply":{"id":"bench-yes","title":"Yes"}},{"type":"reply","reply":{"id":"bench-no","title":"No"}}]}}}`...)
	default:
		dst = append(dst, `"type":"text","text":{"body":"waba bench message `...)
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, `"}}`...)
	}
	return dst
}
