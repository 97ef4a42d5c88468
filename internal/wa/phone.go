package wa

// Phone-number normalisation for `to` and the contacts endpoint.
//
// Both dialects accept a WhatsApp ID or a phone number "in any common format"
// (shared/reference/onprem-api.md §6.1, §8.1 — from v2.39 a phone number is accepted in `to`;
// shared/reference/cloud-api.md §2.1 — "+, -, (, ) and spaces are accepted"). The reference's
// own examples are `16315551000`, `+1 631 555 1001`, `6315551002`, `+1 (631) 555-1004` and
// `1-631-555-1005`.
//
// Choices (Meta documents none of them; they go into docs/):
//   - Separators: ASCII space, tab, '-', '.', '(' and ')' are dropped anywhere. Parentheses need not
//     balance: Meta's docs only list them as accepted characters.
//   - '+' is accepted once, as the first non-separator character, and dropped.
//   - A leading international call prefix "00" (as dialled from most of Europe) is dropped when the
//     number has no '+': "0044 20 7946 0000" is "442079460000". "+00…" is rejected.
//   - After that the number must be 8–15 digits (15 is the E.164 maximum; 8 is the shortest
//     country code plus subscriber number seen in practice) and must not start with 0 (no E.164
//     country code does).
//   - Anything else — letters (including an "x123" extension), other punctuation, non-ASCII
//     digits — makes the input invalid.
//
// Cloud's rule "if the + is missing, the business number's country code is prepended"
// (cloud-api.md §2.1) needs the business number and is not applied here: the result is the digits
// as written.
//
// The result is idempotent: NormalizePhone(NormalizePhone(s)) returns the same digits.

const (
	minPhoneDigits = 8
	maxPhoneDigits = 15 // E.164
)

// NormalizePhone returns the digits of a WhatsApp ID or phone number written in any of the
// accepted formats (see above), and whether s is one.
func NormalizePhone(s string) (string, bool) {
	// Fast path: already a wa_id (digits only), the usual case on the hot path.
	if isPlainDigits(s) && len(s) >= minPhoneDigits && len(s) <= maxPhoneDigits && s[0] != '0' {
		return s, true
	}
	var buf [maxPhoneDigits + 2]byte // room for a leading "00"
	n := 0
	plus := false
	seenDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", false // too long
			}
			buf[n] = c
			n++
			seenDigit = true
		case c == '+':
			if plus || seenDigit {
				return "", false
			}
			plus = true
		case c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	d := buf[:n]
	if !plus && len(d) > 2 && d[0] == '0' && d[1] == '0' {
		d = d[2:]
	}
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits || d[0] == '0' {
		return "", false
	}
	return string(d), true
}

func isPlainDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
