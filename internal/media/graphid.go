package media

import (
	"math/big"
	"strings"

	"github.com/openwaba/waba/internal/store"
)

// The Cloud API names a media by a numeric Graph id ("id":"1037543291543636",
// shared/reference/cloud-api.md §5); the store names it by the UUID On-Prem shows
// (store.ValidMediaID). Rather than keep a second id, the Graph id is the UUID's 128 bits
// written as a decimal number, with no leading zeros: deterministic both ways, so a media
// uploaded on either dialect, or sent by a simulated user, has one Graph id and one UUID, on
// every node and across restarts. The ids are longer than Meta's (up to 39 digits); clients
// keep media ids as strings.
//
// Only the ids NewID makes (version 4, RFC 4122 variant) are media ids, so a shorter Graph id
// (a template's, a phone number's) never parses as one.

var maxUUID = new(big.Int).Lsh(big.NewInt(1), 128)

// GraphID returns the Graph (Cloud) id of the media whose UUID is id, or false when id is not
// a version-4 UUID in canonical form.
func GraphID(id string) (string, bool) {
	if !store.ValidMediaID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
		return "", false
	}
	n, ok := new(big.Int).SetString(strings.ReplaceAll(id, "-", ""), 16)
	if !ok {
		return "", false
	}
	return n.String(), true
}

// ParseGraphID reverses GraphID: the UUID a Graph media id names, or false for any string
// GraphID does not make.
func ParseGraphID(s string) (string, bool) {
	if s == "" || len(s) > 39 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return "", false
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Cmp(maxUUID) >= 0 {
		return "", false
	}
	var b [16]byte
	n.FillBytes(b[:])
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0xf])
	}
	id := string(out)
	if _, ok := GraphID(id); !ok {
		return "", false
	}
	return id, true
}
