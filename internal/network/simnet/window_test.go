package simnet_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/store"
)

// countingStore counts the LastInbound reads that reach the store.
type countingStore struct {
	store.Store
	lastInbound atomic.Int64
}

func (c *countingStore) LastInbound(ctx context.Context, business, peer string) (time.Time, bool, error) {
	c.lastInbound.Add(1)
	return c.Store.LastInbound(ctx, business, peer)
}

// newCountingFixture is a fixture whose network reads LastInbound through a counter.
func newCountingFixture(t *testing.T, opts ...func(*simnet.Options)) (*fixture, *countingStore) {
	t.Helper()
	var cs *countingStore
	f := newFixture(t, append([]func(*simnet.Options){func(o *simnet.Options) {
		cs = &countingStore{Store: o.Store}
		o.Store = cs
	}}, opts...)...)
	return f, cs
}

// firstEvent is the first event of sending a text to peer at now: sent or failed(470).
func (f *fixture) firstEvent(peer string, now time.Time) string {
	f.t.Helper()
	tr := f.run(f.outbound(peer, "text", now), now)
	if len(tr.Events) == 0 {
		f.t.Fatalf("text to %s at %s: no events", peer, now)
	}
	return tr.Events[0]
}

// The window cache answers the open case from memory, never misses an inbound message written
// behind the network's back (as dispatch.Inbound does), and notices a window that closed.
func TestWindowCache(t *testing.T) {
	f, cs := newCountingFixture(t)
	peer := "15551230010"

	// Never wrote: closed, and a closed window is not cached.
	if got := f.firstEvent(peer, t0); got != "failed(470)" {
		t.Fatalf("before the user wrote: %s, want failed(470)", got)
	}
	// The user writes; simnet does not see it. The next send must see the window open.
	f.wrote(peer, t0.Add(time.Minute))
	now := t0.Add(2 * time.Minute)
	if got := f.firstEvent(peer, now); got != "sent" {
		t.Fatalf("after the user wrote: %s, want sent", got)
	}
	// Further sends inside the window do not read the store for a minute, then read it once.
	before := cs.lastInbound.Load()
	for i := range 10 {
		if got := f.firstEvent(peer, now.Add(time.Duration(i)*5*time.Second)); got != "sent" {
			t.Fatalf("send %d inside the window: %s", i, got)
		}
	}
	if n := cs.lastInbound.Load() - before; n != 0 {
		t.Errorf("%d LastInbound reads inside a cached window, want 0", n)
	}
	for i := range 3 {
		if got := f.firstEvent(peer, now.Add(time.Hour+time.Duration(i)*time.Second)); got != "sent" {
			t.Fatalf("send %d an hour later: %s", i, got)
		}
	}
	if n := cs.lastInbound.Load() - before; n != 1 {
		t.Errorf("%d LastInbound reads after the cached minute, want 1", n)
	}
	// The window closes 24 h after the message: the cache does not keep it open.
	closed := t0.Add(time.Minute + simnet.ServiceWindow)
	if got := f.firstEvent(peer, closed); got != "failed(470)" {
		t.Fatalf("24 h after the user wrote: %s, want failed(470)", got)
	}
	// A newer message, again unseen by simnet, reopens it past the cached close time.
	f.wrote(peer, closed.Add(time.Minute))
	if got := f.firstEvent(peer, closed.Add(2*time.Minute)); got != "sent" {
		t.Fatalf("after the user wrote again: %s, want sent", got)
	}
	// A user who writes while the window is cached open extends it: the store is asked again
	// once the cached close time passes, and sees the newer message.
	f.wrote(peer, closed.Add(20*time.Hour))
	if got := f.firstEvent(peer, closed.Add(25*time.Hour)); got != "sent" {
		t.Fatalf("inside the extended window: %s, want sent", got)
	}
	// The window is per business.
	m := f.outbound(peer, "text", closed.Add(25*time.Hour))
	m.Business = "15550002222"
	f.check(f.run(m, m.CreatedAt), []string{"failed(470)"}, "failed")

	// The sandbox reset deletes the inbound messages; SetDown(false), which it calls, and
	// ForgetWindows empty the cache.
	for _, forget := range []func(){func() { f.net.SetDown(false) }, f.net.ForgetWindows} {
		f.wrote(peer, closed.Add(26*time.Hour))
		if got := f.firstEvent(peer, closed.Add(27*time.Hour)); got != "sent" {
			t.Fatalf("before the reset: %s, want sent", got)
		}
		if err := f.st.ResetTraffic(context.Background()); err != nil {
			t.Fatal(err)
		}
		forget()
		if got := f.firstEvent(peer, closed.Add(27*time.Hour)); got != "failed(470)" {
			t.Fatalf("after the reset: %s, want failed(470)", got)
		}
	}
}

func TestWindowCacheBounded(t *testing.T) {
	f, _ := newCountingFixture(t, func(o *simnet.Options) { o.WindowCacheSize = 8 })
	for i := range 50 {
		peer := "155512310" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		f.wrote(peer, t0)
		if got := f.firstEvent(peer, t0.Add(time.Hour)); got != "sent" {
			t.Fatalf("peer %s: %s, want sent", peer, got)
		}
		if n := f.net.WindowCacheLen(); n > 8 {
			t.Fatalf("window cache holds %d entries, bound 8", n)
		}
	}

	off, cs := newCountingFixture(t, func(o *simnet.Options) { o.WindowCacheSize = -1 })
	off.wrote("15551230020", t0)
	for range 3 {
		if got := off.firstEvent("15551230020", t0.Add(time.Hour)); got != "sent" {
			t.Fatalf("cache off: %s, want sent", got)
		}
	}
	if n, c := cs.lastInbound.Load(), off.net.WindowCacheLen(); n != 3 || c != 0 {
		t.Errorf("cache off: %d store reads and %d cached windows, want 3 and 0", n, c)
	}
}

func TestReceiptLatency(t *testing.T) {
	zero := time.Duration(0)
	f := newFixture(t, func(o *simnet.Options) { o.ReceiptLatency = &zero })
	peer := "15551230030"
	// Delivered and read are due the moment the message is sent, so one Step takes all three
	// steps and reports their events in order, with the conversation on each.
	m := f.outbound(peer, "template", t0)
	step, err := f.net.Step(context.Background(), m, t0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, ev := range step.Events {
		events = append(events, ev.Status)
		if !ev.At.Equal(t0) || ev.Conversation == nil {
			t.Errorf("%s event at %s with conversation %v, want at %s with one", ev.Status, ev.At, ev.Conversation, t0)
		}
	}
	if want := []string{"sent", "delivered", "read"}; !slices.Equal(events, want) || step.Status != "read" || !step.NextAt.IsZero() {
		t.Fatalf("one Step: events %v, status %s, next %s; want %v, read, nothing scheduled", events, step.Status, step.NextAt, want)
	}

	// A user's own fixed latency still wins; a positive option replaces the drawn delays.
	ms := 5 * time.Millisecond
	g := newFixture(t, func(o *simnet.Options) { o.ReceiptLatency = &ms })
	tr := g.run(g.outbound(peer, "template", t0), t0)
	if got := tr.elapsed(); got != 2*ms {
		t.Errorf("receipt latency 5ms: sent → read took %s, want 10ms", got)
	}
	u := g.net.User(peer)
	u.Latency.Delivered = simnet.Duration(time.Second)
	if err := g.net.PutUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	tr = g.run(g.outbound(peer, "template", t0), t0)
	if got := tr.elapsed(); got != time.Second+ms {
		t.Errorf("user latency 1s + option 5ms: took %s, want 1.005s", got)
	}
}
