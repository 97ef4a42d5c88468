package media

import (
	"strings"
	"testing"
)

func TestGraphID(t *testing.T) {
	for range 1000 {
		id := NewID()
		g, ok := GraphID(id)
		if !ok || strings.Trim(g, "0123456789") != "" || g[0] == '0' {
			t.Fatalf("GraphID(%s) = %q %v", id, g, ok)
		}
		back, ok := ParseGraphID(g)
		if !ok || back != id {
			t.Fatalf("ParseGraphID(%s) = %q %v, want %s", g, back, ok, id)
		}
	}
	// A known pair: only the version and variant bits set (2^78 + 2^63).
	if g, _ := GraphID("00000000-0000-4000-8000-000000000000"); g != "302240678275694148452352" {
		t.Fatalf("GraphID = %s", g)
	}
	for _, tc := range []struct{ name, id string }{
		{"empty", ""},
		{"phone-number id", "106540352242922"},
		{"leading zero", "0302240678275694148452352"},
		{"not digits", "30224067827569414845235x"},
		{"2^128", "340282366920938463463374607431768211456"},
		{"version bits not 4", "302240678275694148452352" + "0"},
		{"negative", "-302240678275694148452352"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, ok := ParseGraphID(tc.id); ok {
				t.Fatalf("ParseGraphID(%q) = %s, want refusal", tc.id, id)
			}
		})
	}
	for _, id := range []string{"not-a-uuid", "00000000-0000-1000-8000-000000000000", "00000000-0000-4000-c000-000000000000", "F0000000-0000-4000-8000-000000000000"} {
		if g, ok := GraphID(id); ok {
			t.Fatalf("GraphID(%q) = %s, want refusal", id, g)
		}
	}
}

func FuzzParseGraphID(f *testing.F) {
	f.Add("302240678275694148452352")
	f.Add("106540352242922")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseGraphID(s)
		if !ok {
			return
		}
		if g, ok := GraphID(id); !ok || g != s {
			t.Fatalf("ParseGraphID(%q) = %s, GraphID back = %q %v", s, id, g, ok)
		}
	})
}
