package cloud

import (
	"testing"
	"time"
)

func TestThroughputBucket(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 80 {
		if !l.allowNumber("15550001111", 0, t0) {
			t.Fatalf("message %d of the default 80/s burst refused", i+1)
		}
	}
	if l.allowNumber("15550001111", 0, t0) {
		t.Fatal("81st message in the same instant allowed")
	}
	if !l.allowNumber("15550002222", 0, t0) {
		t.Fatal("another number shares the first one's bucket")
	}
	if !l.allowNumber("15550001111", 0, t0.Add(time.Second/80)) {
		t.Fatal("a token did not come back after 1/80 s")
	}
	// A number upgraded to 1000 mps has a burst of 1000.
	for i := range 1000 {
		if !l.allowNumber("15550003333", 1000, t0) {
			t.Fatalf("message %d of 1000 refused", i+1)
		}
	}
	if l.allowNumber("15550003333", 1000, t0) {
		t.Fatal("1001st allowed")
	}
}

func TestPairBucket(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 45 {
		if !l.allowPair("b", "u", t0) {
			t.Fatalf("burst message %d refused", i+1)
		}
	}
	if l.allowPair("b", "u", t0.Add(5*time.Second)) {
		t.Fatal("46th message within 6 s allowed")
	}
	if !l.allowPair("b", "other", t0) || !l.allowPair("b2", "u", t0) {
		t.Fatal("another user or business shares the pair's bucket")
	}
	if !l.allowPair("b", "u", t0.Add(6*time.Second)) {
		t.Fatal("no message allowed 6 s later")
	}
	if l.allowPair("b", "u", t0.Add(6*time.Second)) {
		t.Fatal("two messages allowed after one 6 s interval")
	}
}

func TestPairSweepForgetsIdleBuckets(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		l.allowPair("b", string(rune('a'+i%26))+string(rune(i)), t0)
	}
	if len(l.pairs) != 1000 {
		t.Fatalf("%d pairs", len(l.pairs))
	}
	// One message each refills in 6 s; a minute later every bucket is full and is dropped.
	l.allowPair("b", "late", t0.Add(2*time.Minute))
	if len(l.pairs) != 1 {
		t.Fatalf("%d pairs after the sweep, want 1", len(l.pairs))
	}
	// A pair still short of tokens survives the sweep.
	for range 45 {
		l.allowPair("b", "busy", t0.Add(2*time.Minute))
	}
	l.allowPair("b", "x", t0.Add(4*time.Minute))
	if _, ok := l.pairs[pairKey{"b", "busy"}]; ok {
		// 2 minutes refill 20 tokens, not 45: it must still be there.
	} else {
		t.Fatal("a pair short of tokens was swept")
	}
}

func TestPairRefund(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 45 {
		l.allowPair("b", "u", t0)
	}
	l.refundPair("b", "u")
	if !l.allowPair("b", "u", t0) {
		t.Fatal("a refunded message was not given back")
	}
	if l.allowPair("b", "u", t0) {
		t.Fatal("more than one message given back")
	}
	l.refundPair("b", "nobody") // no bucket: nothing happens
}
