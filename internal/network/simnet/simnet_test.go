package simnet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/network"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/sqlite"
)

// business is the default business number of waba.
const business = "15550001111"

// t0 is the virtual time the tests start from.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fixture is a simulated network over a real SQLite store.
type fixture struct {
	t      *testing.T
	st     store.Store
	net    *simnet.Net
	nextID int64
}

func newFixture(t *testing.T, opts ...func(*simnet.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), logger)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	o := simnet.Options{Store: st, Logger: logger, Seed: 1}
	for _, f := range opts {
		f(&o)
	}
	n, err := simnet.New(ctx, o)
	if err != nil {
		t.Fatalf("simnet.New: %v", err)
	}
	return &fixture{t: t, st: st, net: n, nextID: 1000}
}

func (f *fixture) id() int64 {
	f.nextID++
	return f.nextID
}

// wrote stores an inbound message from peer at `at`, which opens the 24-hour window.
func (f *fixture) wrote(peer string, at time.Time) {
	f.t.Helper()
	err := f.st.InsertMessages(context.Background(), []store.Message{{
		ID: f.id(), Direction: store.Inbound, Business: business, Peer: peer, Type: "text",
		Payload: []byte(`{"type":"text","text":{"body":"hi"}}`), Status: store.StatusReceived,
		CreatedAt: at, UpdatedAt: at,
	}})
	if err != nil {
		f.t.Fatalf("store inbound message from %s: %v", peer, err)
	}
}

// outbound is an accepted message of type typ (template or text) to peer.
func (f *fixture) outbound(peer, typ string, at time.Time) store.Message {
	var payload string
	switch typ {
	case "template":
		payload = `{"to":"` + peer + `","type":"template","template":{"namespace":"ns","name":"hello","language":{"policy":"deterministic","code":"en"}}}`
	case "text":
		payload = `{"to":"` + peer + `","type":"text","text":{"body":"hello"}}`
	default:
		f.t.Fatalf("outbound: unknown type %q", typ)
	}
	return store.Message{ID: f.id(), Direction: store.Outbound, Business: business, Peer: peer, Type: typ,
		Payload: []byte(payload), Status: store.StatusAccepted, CreatedAt: at, UpdatedAt: at}
}

// trace is what happened to one message, stepped until nothing more was scheduled.
type trace struct {
	Events  []string // sent, delivered, read, failed(<On-Prem code>)
	Conds   []string // the condition name of each failed event
	Status  string   // the final stored status
	Steps   []time.Time
	Replies []string // texts of the user's automatic replies
}

func (tr trace) elapsed() time.Duration {
	if len(tr.Steps) == 0 {
		return 0
	}
	return tr.Steps[len(tr.Steps)-1].Sub(tr.Steps[0])
}

// run calls Step at now, then at each returned NextAt, until NextAt is zero, carrying the
// status and state forward as the dispatcher does.
func (f *fixture) run(m store.Message, now time.Time) trace {
	f.t.Helper()
	var tr trace
	for i := 0; ; i++ {
		if i == 20 {
			f.t.Fatalf("message %d still scheduled after 20 steps: %+v", m.ID, tr)
		}
		step, err := f.net.Step(context.Background(), m, now)
		if err != nil {
			f.t.Fatalf("Step %d at %s: %v", i+1, now.Format(time.RFC3339), err)
		}
		tr.Steps = append(tr.Steps, now)
		for _, ev := range step.Events {
			if !ev.At.Equal(now) {
				f.t.Errorf("event %s at %s, want the step time %s", ev.Status, ev.At, now)
			}
			switch {
			case ev.Status == store.StatusFailed && ev.Err == nil:
				f.t.Errorf("failed event without an error condition")
				tr.Events = append(tr.Events, "failed(?)")
			case ev.Status == store.StatusFailed:
				tr.Events = append(tr.Events, fmt.Sprintf("failed(%d)", ev.Err.OnPrem.Code))
				tr.Conds = append(tr.Conds, ev.Err.Name)
				if ev.Details == "" {
					f.t.Errorf("failed(%d) without details", ev.Err.OnPrem.Code)
				}
			default:
				if ev.Err != nil {
					f.t.Errorf("%s event carries error %s", ev.Status, ev.Err.Name)
				}
				if ev.Conversation == nil {
					f.t.Errorf("%s event without a conversation", ev.Status)
				}
				tr.Events = append(tr.Events, ev.Status)
			}
		}
		for _, r := range step.Replies {
			if r.From != m.Peer {
				f.t.Errorf("reply from %s, want %s", r.From, m.Peer)
			}
			text, _ := r.Body["text"].(map[string]any)
			body, _ := text["body"].(string)
			tr.Replies = append(tr.Replies, body)
		}
		m.Status, m.State = step.Status, step.State
		tr.Status = step.Status
		if step.NextAt.IsZero() {
			return tr
		}
		if !step.NextAt.After(now) {
			f.t.Fatalf("Step %d at %s scheduled the next step at %s, not later", i+1, now, step.NextAt)
		}
		now = step.NextAt
	}
}

func (f *fixture) check(tr trace, wantEvents []string, wantStatus string) {
	f.t.Helper()
	if !slices.Equal(tr.Events, wantEvents) {
		f.t.Errorf("events = %v, want %v", tr.Events, wantEvents)
	}
	if tr.Status != wantStatus {
		f.t.Errorf("final status = %q, want %q", tr.Status, wantStatus)
	}
}

var (
	fullLifecycle = []string{"sent", "delivered", "read"}
	sentOnly      = []string{"sent"}
)

func TestMagicNumbers(t *testing.T) {
	cases := []struct {
		name    string
		number  string
		typ     string // template, or text after the user wrote
		events  []string
		status  string
		cond    string        // condition of the failure, when it matters
		elapsed time.Duration // exact time from hand-off to the last step, when it matters
		replies []string
	}{
		{name: "offline", number: "15550100000", typ: "template", events: sentOnly, status: "sent", elapsed: simnet.HoldPeriod},
		{name: "blocked", number: "15550100001", typ: "template", events: sentOnly, status: "sent"},
		{name: "no-read-receipts", number: "15550100002", typ: "template", events: []string{"sent", "delivered"}, status: "delivered"},
		{name: "echo", number: "15550100003", typ: "text", events: fullLifecycle, status: "read", replies: []string{"hello"}},
		{name: "crimea", number: "15550100007", typ: "template", events: sentOnly, status: "sent"},
		{name: "not-on-whatsapp", number: "15550100404", typ: "template", events: []string{"failed(1026)"}, status: "failed", cond: "recipient.undeliverable"},
		{name: "spam-limit", number: "15550100471", typ: "template", events: []string{"failed(471)"}, status: "failed"},
		{name: "experiment", number: "15550100472", typ: "template", events: []string{"failed(472)"}, status: "failed"},
		{name: "identity-changed", number: "15550100480", typ: "template", events: []string{"failed(480)"}, status: "failed"},
		{name: "multi-device", number: "15550100500", typ: "template", events: []string{"sent", "delivered", "failed(500)", "read"}, status: "read"},
		{name: "terms-not-accepted", number: "15550101026", typ: "template", events: []string{"failed(1026)"}, status: "failed", cond: "recipient.undeliverable"},
		{name: "old-android", number: "15550101027", typ: "template", events: []string{"failed(1026)"}, status: "failed"},
		{name: "old-ios", number: "15550101028", typ: "template", events: []string{"failed(1026)"}, status: "failed"},
		{name: "old-kaios", number: "15550101029", typ: "template", events: []string{"failed(1026)"}, status: "failed"},
		{name: "old-web", number: "15550101030", typ: "template", events: []string{"failed(1026)"}, status: "failed"},
		{name: "marketing-limit", number: "15550101049", typ: "template", events: []string{"failed(1026)"}, status: "failed", cond: "recipient.marketing_cap"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.number] = true
	}
	for _, m := range simnet.MagicNumbers() {
		if !covered[m.Number] {
			t.Errorf("magic number %s (%s) has no case in TestMagicNumbers", m.Number, m.Name)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if u := f.net.User(c.number); u.Magic != c.name {
				t.Fatalf("User(%s).Magic = %q, want %q", c.number, u.Magic, c.name)
			}
			if c.typ == "text" {
				f.wrote(c.number, t0.Add(-time.Hour))
			}
			tr := f.run(f.outbound(c.number, c.typ, t0), t0)
			f.check(tr, c.events, c.status)
			if c.cond != "" && !slices.Equal(tr.Conds, []string{c.cond}) {
				t.Errorf("failure conditions = %v, want [%s]", tr.Conds, c.cond)
			}
			if c.elapsed != 0 && tr.elapsed() != c.elapsed {
				t.Errorf("last step %s after the hand-off, want %s", tr.elapsed(), c.elapsed)
			}
			if !slices.Equal(tr.Replies, c.replies) {
				t.Errorf("replies = %q, want %q", tr.Replies, c.replies)
			}
		})
	}
}

// TestMagicInsideWindow: the magic outcomes that depend on the message type.
func TestMagicInsideWindow(t *testing.T) {
	cases := []struct {
		name    string
		number  string
		typ     string
		wrote   bool
		events  []string
		status  string
		replies []string
	}{
		// The marketing limit applies to templates outside an open service window only.
		{name: "marketing-limit text in window", number: "15550101049", typ: "text", wrote: true, events: fullLifecycle, status: "read"},
		{name: "marketing-limit template in window", number: "15550101049", typ: "template", wrote: true, events: fullLifecycle, status: "read"},
		{name: "echo template", number: "15550100003", typ: "template", events: fullLifecycle, status: "read", replies: []string{"Got your template message"}},
		{name: "no-read-receipts text", number: "15550100002", typ: "text", wrote: true, events: []string{"sent", "delivered"}, status: "delivered"},
		{name: "blocked text", number: "15550100001", typ: "text", wrote: true, events: sentOnly, status: "sent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.wrote {
				f.wrote(c.number, t0.Add(-time.Minute))
			}
			tr := f.run(f.outbound(c.number, c.typ, t0), t0)
			f.check(tr, c.events, c.status)
			if !slices.Equal(tr.Replies, c.replies) {
				t.Errorf("replies = %q, want %q", tr.Replies, c.replies)
			}
		})
	}
}

func TestHealthyUser(t *testing.T) {
	f := newFixture(t)
	peer := "15551230001"
	if u := f.net.User(peer); u.Magic != "" || !u.Online || !u.AcceptedTerms || !u.ReadReceipts || u.Devices != 1 {
		t.Fatalf("User(%s) = %+v, want a healthy default user", peer, u)
	}
	tr := f.run(f.outbound(peer, "template", t0), t0)
	f.check(tr, fullLifecycle, "read")
	// The default latencies make the whole lifecycle pleasant to watch.
	if tr.elapsed() <= 0 || tr.elapsed() > 5*time.Second {
		t.Errorf("sent to read took %s, want a few seconds", tr.elapsed())
	}
}

func TestServiceWindow(t *testing.T) {
	cases := []struct {
		name   string
		typ    string
		wrote  time.Duration // how long before the send the user last wrote; 0: never
		events []string
		status string
	}{
		{name: "text to a user who never wrote", typ: "text", events: []string{"failed(470)"}, status: "failed"},
		{name: "template to a user who never wrote", typ: "template", events: fullLifecycle, status: "read"},
		{name: "text 23h after the user wrote", typ: "text", wrote: 23 * time.Hour, events: fullLifecycle, status: "read"},
		{name: "text 25h after the user wrote", typ: "text", wrote: 25 * time.Hour, events: []string{"failed(470)"}, status: "failed"},
		{name: "template 25h after the user wrote", typ: "template", wrote: 25 * time.Hour, events: fullLifecycle, status: "read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			peer := "15551230002"
			if c.wrote != 0 {
				f.wrote(peer, t0.Add(-c.wrote))
			}
			f.check(f.run(f.outbound(peer, c.typ, t0), t0), c.events, c.status)
		})
	}
}

func TestWindowIsPerBusiness(t *testing.T) {
	f := newFixture(t)
	peer := "15551230003"
	f.wrote(peer, t0.Add(-time.Hour)) // to the default business
	m := f.outbound(peer, "text", t0)
	m.Business = "15550002222"
	f.check(f.run(m, t0), []string{"failed(470)"}, "failed")
}

func TestCountries(t *testing.T) {
	lifted := time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		peer   string
		at     time.Time
		events []string
	}{
		{name: "Turkey before 2024-05-15", peer: "905321234567", at: lifted.Add(-24 * time.Hour), events: sentOnly},
		{name: "Turkey just before the change", peer: "905321234567", at: lifted.Add(-time.Minute), events: sentOnly},
		{name: "Turkey from 2024-05-15", peer: "905321234567", at: lifted, events: fullLifecycle},
		{name: "Turkey after 2024-05-15", peer: "905321234567", at: lifted.Add(30 * 24 * time.Hour), events: fullLifecycle},
		{name: "Cuba", peer: "5351234567", at: t0, events: sentOnly},
		{name: "Iran", peer: "989121234567", at: t0, events: sentOnly},
		{name: "North Korea", peer: "850191234567", at: t0, events: sentOnly},
		{name: "Syria", peer: "963944123456", at: t0, events: sentOnly},
		{name: "Germany", peer: "4915112345678", at: t0, events: fullLifecycle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			tr := f.run(f.outbound(c.peer, "template", c.at), c.at)
			f.check(tr, c.events, map[bool]string{true: "sent", false: "read"}[len(c.events) == 1])
		})
	}
}

func TestRegions(t *testing.T) {
	for _, region := range []string{"crimea", "donetsk", "luhansk"} {
		t.Run(region, func(t *testing.T) {
			f := newFixture(t)
			peer := "380501234567"
			u := f.net.User(peer)
			u.Region = region
			if err := f.net.PutUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			f.check(f.run(f.outbound(peer, "template", t0), t0), sentOnly, "sent")
		})
	}
}

func TestPending(t *testing.T) {
	cases := []struct {
		name    string
		waited  time.Duration // between acceptance and the first Step
		payload string        // replaces the payload when set
		events  []string
		status  string
	}{
		{name: "first step 25h after acceptance", waited: 25 * time.Hour, events: []string{"failed(408)"}, status: "failed"},
		{name: "first step 23h after acceptance", waited: 23 * time.Hour, events: fullLifecycle, status: "read"},
		{name: "ttl PT1H, first step 2h after acceptance", waited: 2 * time.Hour,
			payload: `{"type":"template","ttl":"PT1H","template":{"name":"hello"}}`, events: []string{"failed(410)"}, status: "failed"},
		{name: "ttl 3600 seconds, first step 2h after acceptance", waited: 2 * time.Hour,
			payload: `{"type":"template","ttl":"3600","template":{"name":"hello"}}`, events: []string{"failed(410)"}, status: "failed"},
		{name: "ttl P1D, first step 2h after acceptance", waited: 2 * time.Hour,
			payload: `{"type":"template","ttl":"P1D","template":{"name":"hello"}}`, events: fullLifecycle, status: "read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.outbound("15551230004", "template", t0)
			if c.payload != "" {
				m.Payload = []byte(c.payload)
			}
			f.check(f.run(m, t0.Add(c.waited)), c.events, c.status)
		})
	}
}

func TestNetworkDown(t *testing.T) {
	f := newFixture(t)
	m := f.outbound("15551230005", "template", t0)
	f.net.SetDown(true)
	if got := f.net.GatewayStatus(); got != "disconnected" {
		t.Errorf("GatewayStatus while down = %q, want disconnected", got)
	}
	_, err := f.net.Step(context.Background(), m, t0.Add(time.Hour))
	var unreachable *network.ErrUnreachable
	if !errors.As(err, &unreachable) {
		t.Fatalf("Step while down: err = %v, want *network.ErrUnreachable", err)
	}
	// Still down a day later: the message fails with 408 rather than wait for ever.
	f.check(f.run(m, t0.Add(24*time.Hour+time.Second)), []string{"failed(408)"}, "failed")

	f.net.SetDown(false)
	if got := f.net.GatewayStatus(); got != "connected" {
		t.Errorf("GatewayStatus while up = %q, want connected", got)
	}
	f.check(f.run(f.outbound("15551230005", "template", t0), t0.Add(time.Hour)), fullLifecycle, "read")
}

func TestOfflineUserComesOnline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	peer := "15551230006"
	if _, err := f.net.SetOnline(ctx, peer, false); err != nil {
		t.Fatal(err)
	}
	m := f.outbound(peer, "template", t0)
	step, err := f.net.Step(ctx, m, t0)
	if err != nil {
		t.Fatal(err)
	}
	if step.Status != store.StatusSent || len(step.Events) != 1 || step.Events[0].Status != "sent" {
		t.Fatalf("hand-off to an offline user = %+v, want one sent event", step)
	}
	if want := t0.Add(simnet.HoldPeriod); !step.NextAt.Equal(want) {
		t.Fatalf("held until %s, want %s (30 days)", step.NextAt, want)
	}
	// Ten days later the user comes online; the sandbox makes the held message due at once.
	if _, err := f.net.SetOnline(ctx, peer, true); err != nil {
		t.Fatal(err)
	}
	m.Status, m.State = step.Status, step.State
	f.check(f.run(m, t0.Add(10*24*time.Hour)), []string{"delivered", "read"}, "read")
}

func TestBlockedOneBusiness(t *testing.T) {
	f := newFixture(t)
	peer := "15551230007"
	u := f.net.User(peer)
	u.Blocked = []string{business}
	if err := f.net.PutUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	t.Run("blocked business", func(t *testing.T) {
		f.check(f.run(f.outbound(peer, "template", t0), t0), sentOnly, "sent")
	})
	t.Run("other business", func(t *testing.T) {
		m := f.outbound(peer, "template", t0)
		m.Business = "15550002222"
		f.check(f.run(m, t0), fullLifecycle, "read")
	})
}

func TestIdentityAcknowledged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	peer := "15550100480"
	id := f.net.Identity(peer)
	if id.Acknowledged {
		t.Fatalf("magic identity-changed user starts acknowledged: %+v", id)
	}
	if err := f.net.AckIdentity(ctx, peer, "bm90IHRoZSBoYXNo"); err == nil {
		t.Errorf("AckIdentity with a wrong hash succeeded")
	}
	if err := f.net.AckIdentity(ctx, peer, id.Hash); err != nil {
		t.Fatalf("AckIdentity: %v", err)
	}
	f.check(f.run(f.outbound(peer, "template", t0), t0), fullLifecycle, "read")

	// A new change needs a new acknowledgement.
	if _, err := f.net.ChangeIdentity(ctx, peer, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.check(f.run(f.outbound(peer, "template", t0.Add(2*time.Hour)), t0.Add(2*time.Hour)), []string{"failed(480)"}, "failed")
}

func TestReplyScript(t *testing.T) {
	f := newFixture(t)
	peer := "15551230008"
	u := f.net.User(peer)
	u.Reply, u.Script = "script", []string{"Thanks!"}
	if err := f.net.PutUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	tr := f.run(f.outbound(peer, "template", t0), t0)
	f.check(tr, fullLifecycle, "read")
	if !slices.Equal(tr.Replies, []string{"Thanks!"}) {
		t.Errorf("replies = %q, want [Thanks!]", tr.Replies)
	}
}

// TestDeterminism: the same message in the same state gives the same step, so a crash and a
// replay produce the same receipts; two networks with the same seed agree.
func TestDeterminism(t *testing.T) {
	ctx := context.Background()
	for _, peer := range []string{"15551230009", "15550100500", "15550100000", "15550100003"} {
		t.Run(peer, func(t *testing.T) {
			f := newFixture(t)
			m := f.outbound(peer, "template", t0)
			now := t0
			for i := 0; i < 10; i++ {
				a, errA := f.net.Step(ctx, m, now)
				b, errB := f.net.Step(ctx, m, now)
				if errA != nil || errB != nil {
					t.Fatalf("Step: %v, %v", errA, errB)
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("step %d differs when repeated:\n%+v\n%+v", i+1, a, b)
				}
				if a.NextAt.IsZero() {
					return
				}
				m.Status, m.State, now = a.Status, a.State, a.NextAt
			}
			t.Fatalf("still scheduled after 10 steps")
		})
	}
	t.Run("same seed, two networks", func(t *testing.T) {
		a, b := newFixture(t), newFixture(t)
		ta := a.run(a.outbound("15551230010", "template", t0), t0)
		tb := b.run(b.outbound("15551230010", "template", t0), t0)
		if !reflect.DeepEqual(ta, tb) {
			t.Errorf("same seed, same message, different traces:\n%+v\n%+v", ta, tb)
		}
	})
	t.Run("another seed", func(t *testing.T) {
		a := newFixture(t)
		b := newFixture(t, func(o *simnet.Options) { o.Seed = 2 })
		ta := a.run(a.outbound("15551230010", "template", t0), t0)
		tb := b.run(b.outbound("15551230010", "template", t0), t0)
		if !slices.Equal(ta.Events, tb.Events) {
			t.Errorf("the seed changed the outcome: %v vs %v", ta.Events, tb.Events)
		}
		if slices.Equal(ta.Steps, tb.Steps) {
			t.Errorf("seeds 1 and 2 gave identical latencies %v", ta.Steps)
		}
	})
}

// TestScenarioDefaults: a scenario file's users take the healthy defaults for every field they
// leave out (docs/sandbox.md).
func TestScenarioDefaults(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "users.yaml")
	scenario := `users:
  - wa_id: "15551230011"
    name: Alice
  - wa_id: "15551230012"
    online: false
    latency:
      delivered: 2s
      read: 1m
  - wa_id: "15551230013"
    platform: ios
    app_version: 2.21.170.3
`
	if err := os.WriteFile(path, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := f.net.LoadScenario(ctx, path)
	if err != nil || n != 3 {
		t.Fatalf("LoadScenario = %d, %v; want 3 users", n, err)
	}
	alice := f.net.User("15551230011")
	if alice.Name != "Alice" || alice.Country != "US" || alice.Devices != 1 || alice.Platform != "android" || alice.Reply != "none" {
		t.Errorf("Alice = %+v, want her name and the healthy defaults", alice)
	}
	if !alice.Online || !alice.AcceptedTerms || !alice.ReadReceipts {
		// LoadScenario must decode each user onto the healthy default: withDefaults cannot tell
		// a bool left out from an explicit false.
		t.Errorf("Alice: online=%v accepted_terms=%v read_receipts=%v, want the healthy true for fields left out",
			alice.Online, alice.AcceptedTerms, alice.ReadReceipts)
	}
	bob := f.net.User("15551230012")
	if bob.Online || time.Duration(bob.Latency.Delivered) != 2*time.Second || time.Duration(bob.Latency.Read) != time.Minute {
		t.Errorf("second user = %+v, want offline with latencies 2s and 1m", bob)
	}
	raw, _ := json.Marshal(bob.Latency)
	if string(raw) != `{"delivered":"2s","read":"1m0s"}` {
		t.Errorf("latency JSON = %s", raw)
	}
	f.check(f.run(f.outbound("15551230011", "template", t0), t0), fullLifecycle, "read")
	f.check(f.run(f.outbound("15551230013", "template", t0), t0), []string{"failed(1026)"}, "failed")
}
