package cloud

import (
	"slices"
	"testing"

	"github.com/openwaba/waba/internal/media"
)

// The unsupported-type message lists exactly the types media.Rules accept, once each.
func TestCloudTypesMatchRules(t *testing.T) {
	got, want := slices.Clone(cloudTypes), media.SupportedTypes()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("cloudTypes %v\nmedia.SupportedTypes %v", got, want)
	}
}

func TestSameType(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		want       bool
	}{
		{"equal", "image/jpeg", "image/jpeg", true},
		{"case and params", "Audio/OGG; codecs=opus", "audio/ogg", true},
		{"different", "image/png", "image/jpeg", false},
		{"invalid", "", "image/jpeg", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameType(tc.a, tc.b); got != tc.want {
				t.Fatalf("sameType(%q, %q) = %v", tc.a, tc.b, got)
			}
		})
	}
}
