package wa

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// Cloud message ids look like Meta's `wamid.HBgL…` (shared/reference/cloud-api.md §2.1, at most
// 128 characters): "wamid." and the standard base64 of a 21-byte string: the marker "WABA", a
// direction byte ('O' outbound, 'I' inbound), the internal id and the same check value as
// OnPremID. 21 bytes encode to 28 characters with no padding. Both dialects' ids name the same
// int64, so a message can be addressed in either.
const cloudIDPrefix = "wamid."

var cloudIDEncoding = base64.StdEncoding.Strict()

// CloudID renders an internal id as a Cloud `wamid.` id.
func CloudID(id int64, inbound bool) string {
	var b [21]byte
	copy(b[:4], "WABA")
	b[4] = 'O'
	if inbound {
		b[4] = 'I'
	}
	binary.BigEndian.PutUint64(b[5:13], uint64(id))
	binary.BigEndian.PutUint64(b[13:], check(id))
	return cloudIDPrefix + cloudIDEncoding.EncodeToString(b[:])
}

// ParseCloudID reverses CloudID. ok is false for anything CloudID did not make.
func ParseCloudID(s string) (id int64, inbound bool, ok bool) {
	rest, found := strings.CutPrefix(s, cloudIDPrefix)
	if !found || len(rest) != 28 {
		return 0, false, false
	}
	var b [21]byte
	if n, err := cloudIDEncoding.Decode(b[:], []byte(rest)); err != nil || n != len(b) {
		return 0, false, false
	}
	if string(b[:4]) != "WABA" {
		return 0, false, false
	}
	switch b[4] {
	case 'O':
	case 'I':
		inbound = true
	default:
		return 0, false, false
	}
	id = int64(binary.BigEndian.Uint64(b[5:13]))
	if binary.BigEndian.Uint64(b[13:]) != check(id) || id <= 0 {
		return 0, false, false
	}
	return id, inbound, true
}
