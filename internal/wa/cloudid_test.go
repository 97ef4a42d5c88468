package wa

import (
	"regexp"
	"testing"
)

var cloudIDShape = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/]{28}$`)

func TestCloudIDRoundTrip(t *testing.T) {
	g := NewIDs(5)
	for range 1000 {
		id := g.Next()
		for _, in := range []bool{false, true} {
			s := CloudID(id, in)
			if !cloudIDShape.MatchString(s) || len(s) > 128 {
				t.Fatalf("CloudID(%d, %v) = %q: wrong shape", id, in, s)
			}
			got, gotIn, ok := ParseCloudID(s)
			if !ok || got != id || gotIn != in {
				t.Fatalf("ParseCloudID(%q) = %d, %v, %v; want %d, %v, true", s, got, gotIn, ok, id, in)
			}
			// The same int64 in the On-Prem form.
			if op, _, ok := ParseOnPremID(OnPremID(got, gotIn)); !ok || op != id {
				t.Fatalf("On-Prem form of %d does not round-trip", id)
			}
		}
	}
}

func TestParseCloudIDRejects(t *testing.T) {
	good := CloudID(123456789, false)
	for _, s := range []string{
		"", "wamid.", "wamid.HBgL", good + "A", good[:len(good)-1],
		"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA", // Meta's example: not ours
		good[:10] + "x" + good[11:],                                  // one character changed
		"wamiD." + good[6:],
		OnPremID(123456789, false),
	} {
		if _, _, ok := ParseCloudID(s); ok && s != good {
			t.Errorf("ParseCloudID(%q) accepted", s)
		}
	}
}

func FuzzParseCloudID(f *testing.F) {
	f.Add(CloudID(1, false))
	f.Add(CloudID(1<<40, true))
	f.Add("wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA")
	f.Fuzz(func(t *testing.T, s string) {
		id, in, ok := ParseCloudID(s)
		if ok && CloudID(id, in) != s {
			t.Fatalf("ParseCloudID(%q) = %d but CloudID gives %q", s, id, CloudID(id, in))
		}
	})
}
