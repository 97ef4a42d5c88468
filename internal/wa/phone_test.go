package wa

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		// The formats of shared/reference/onprem-api.md §6.1.
		{"wa_id", "16315551000", "16315551000", true},
		{"plus and spaces", "+1 631 555 1001", "16315551001", true},
		{"national digits are taken as written", "6315551002", "6315551002", true},
		{"parentheses and dash", "+1 (631) 555-1004", "16315551004", true},
		{"dashes", "1-631-555-1005", "16315551005", true},
		{"dots", "1.631.555.1006", "16315551006", true},
		{"tab and surrounding spaces", " +44\t20 7946 0000 ", "442079460000", true},
		{"international prefix 00", "0044 20 7946 0000", "442079460000", true},
		{"00 prefix without separators", "00442079460000", "442079460000", true},
		{"shortest accepted", "12345678", "12345678", true},
		{"longest accepted (E.164)", "123456789012345", "123456789012345", true},
		{"00 plus 15 digits", "00123456789012345", "123456789012345", true},

		{"empty", "", "", false},
		{"separators only", "+ ( ) -", "", false},
		{"too short", "1234567", "", false},
		{"too long", "1234567890123456", "", false},
		{"much too long", "+123456789012345678901234567890", "", false},
		{"leading zero", "06315551002", "", false},
		{"+ then zero", "+0044 20 7946 0000", "", false},
		{"00 then zero", "000123456789", "", false},
		{"letters", "whatsapp-id", "", false},
		{"extension", "+1 631 555 1001 x12", "", false},
		{"plus in the middle", "1+6315551001", "", false},
		{"two pluses", "++16315551001", "", false},
		{"slash", "1631/5551001", "", false},
		{"non-ASCII digits", "١٦٣١٥٥٥١٠٠١", "", false},
		{"fullwidth digits", "１６３１５５５１００１", "", false},
		{"placeholder", "{{Recipient-WA-ID}}", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizePhone(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"16315551000", "+1 631 555 1001", "6315551002", "+1 (631) 555-1004", "1-631-555-1005",
		"0044 20 7946 0000", "", "+", "00", "0", "x", "123456789012345678", "١٢٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizePhone(s)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizePhone(%q) = %q with ok=false", s, got)
			}
			return
		}
		if len(got) < minPhoneDigits || len(got) > maxPhoneDigits || got[0] == '0' {
			t.Fatalf("NormalizePhone(%q) = %q: wrong length or leading zero", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("NormalizePhone(%q) = %q: not digits only", s, got)
			}
		}
		again, ok2 := NormalizePhone(got)
		if !ok2 || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, ok2)
		}
	})
}

func BenchmarkNormalizePhone(b *testing.B) {
	for _, s := range []string{"16315551000", "+1 (631) 555-1004"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				NormalizePhone(s)
			}
		})
	}
}
