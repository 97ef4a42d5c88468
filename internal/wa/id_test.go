package wa

import (
	"regexp"
	"sync"
	"testing"
	"time"
)

func TestIDsUniqueAndGrowing(t *testing.T) {
	g := NewIDs(7)
	const workers, each = 8, 20000
	out := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out[w] = append(out[w], g.Next())
			}
		}()
	}
	wg.Wait()
	seen := make(map[int64]bool, workers*each)
	for _, ids := range out {
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %d", id)
			}
			seen[id] = true
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("ids of one goroutine must grow: %d after %d", id, ids[i-1])
			}
			if node := id >> 14 & 0xff; node != 7 {
				t.Fatalf("node bits = %d, want 7", node)
			}
		}
	}
}

func TestIDsSurviveClockStepBack(t *testing.T) {
	g := NewIDs(1)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	a := g.Next()
	now = now.Add(-time.Hour) // wall clock stepped back
	b := g.Next()
	if b <= a {
		t.Fatalf("id went backwards with the clock: %d then %d", a, b)
	}
}

var onPremIDShape = regexp.MustCompile(`^(gBEG|ABGG)[A-Za-z0-9_-]{22}$`)

func TestOnPremIDRoundTrip(t *testing.T) {
	g := NewIDs(3)
	for range 1000 {
		id := g.Next()
		for _, in := range []bool{false, true} {
			s := OnPremID(id, in)
			if !onPremIDShape.MatchString(s) {
				t.Fatalf("OnPremID(%d, %v) = %q: wrong shape", id, in, s)
			}
			got, gotIn, ok := ParseOnPremID(s)
			if !ok || got != id || gotIn != in {
				t.Fatalf("ParseOnPremID(%q) = %d, %v, %v; want %d, %v, true", s, got, gotIn, ok, id, in)
			}
		}
	}
}

func TestParseOnPremIDRejects(t *testing.T) {
	good := OnPremID(123456789, false)
	for _, s := range []string{
		"", "gBEG", "not-an-id", "wamid.HBgL", good + "A", good[:len(good)-1],
		"gBEGkYiEB1VXAglK1ZEqA1YKPrU",       // Meta's example id: not one of ours
		"gBEG" + good[4:5] + "x" + good[6:], // one character changed
		"XBEG" + good[4:],
	} {
		if _, _, ok := ParseOnPremID(s); ok {
			t.Errorf("ParseOnPremID(%q) accepted", s)
		}
	}
}

func FuzzParseOnPremID(f *testing.F) {
	f.Add(OnPremID(1, false))
	f.Add(OnPremID(1<<40, true))
	f.Add("gBEGkYiEB1VXAglK1ZEqA1YKPrU")
	f.Fuzz(func(t *testing.T, s string) {
		id, in, ok := ParseOnPremID(s)
		if ok && OnPremID(id, in) != s {
			t.Fatalf("ParseOnPremID(%q) = %d but OnPremID gives %q", s, id, OnPremID(id, in))
		}
	})
}
