// Browser tests: the real app in-process, driven through Debian's chromium with chromedp.
//
// They live in the external test package ui_test so they can import internal/app (which
// imports ui) without an import cycle, and sit next to the UI they test.
package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openwaba/waba/internal/app"
	"github.com/openwaba/waba/internal/config"
)

const adminPassword = "T3st-Passw0rd!"

// chromiumPath finds the browser, or skips (loudly) or fails under WABA_TEST_REQUIRE_BROWSER=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("WABA_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is not installed (/usr/bin/chromium) and WABA_TEST_REQUIRE_BROWSER=1: install it with apt-get install -y chromium")
	}
	t.Skip("!!! SKIPPING BROWSER TEST: chromium is not installed (apt-get install -y chromium); set WABA_TEST_REQUIRE_BROWSER=1 to make this a failure !!!")
	return ""
}

// env is one running waba, a logged-in API token and a browser tab.
type env struct {
	t     *testing.T
	app   *app.App
	base  string
	token string
	ctx   context.Context
}

func setup(t *testing.T) *env {
	t.Helper()
	exe := chromiumPath(t)
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.AdminPassword = adminPassword
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("WABA_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	e := &env{t: t, app: a, base: a.URL()}
	e.token = e.login()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		chromedp.Cancel(bctx) // closes the browser and waits for it, so its profile folder can go
		cancelB()
		cancelA()
	})
	// Registered after the browser's cleanup, so it runs first: the page is still there.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var png []byte
		sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Run(sctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Logf("screenshot failed: %v", err)
			return
		}
		p := filepath.Join(t.TempDir(), "failure.png")
		if err := os.WriteFile(p, png, 0o644); err == nil {
			t.Logf("screenshot of the failure: %s", p)
		}
		var html string
		if chromedp.Run(sctx, chromedp.OuterHTML("body", &html)) == nil {
			hp := filepath.Join(filepath.Dir(p), "failure.html")
			os.WriteFile(hp, []byte(html), 0o644)
			t.Logf("page HTML: %s", hp)
		}
	})
	e.ctx = bctx
	// Start the browser: the first Run launches it and binds it to the context it gets, so it
	// runs on bctx itself, not on a shorter-lived child.
	if err := chromedp.Run(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return e
}

func (e *env) run(timeout time.Duration, actions ...chromedp.Action) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		e.t.Fatalf("browser: %v", err)
	}
}

// waitJS polls a JavaScript expression until it is true, or fails the test at the deadline.
// click waits until sel matches a visible element and clicks it, in one step inside the page:
// chromedp's WaitVisible + Click resolve a node id first, and the UI's live re-renders can
// replace that node in between ("Could not find node with given id").
func (e *env) click(sel string) {
	e.t.Helper()
	q, _ := json.Marshal(sel)
	e.waitJS("a visible "+sel+" to click", fmt.Sprintf(`(() => { const el = document.querySelector(%s);
		if (!el || el.offsetParent === null) return false; el.click(); return true; })()`, q), 20*time.Second)
}

func (e *env) waitJS(what, expr string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s (%s) %s", timeout, what, expr, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call does an API request with the admin token and decodes the JSON answer.
func (e *env) call(method, path, body string, want int) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

func (e *env) login() string {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/users/login", nil)
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Users []struct {
			Token string `json:"token"`
		} `json:"users"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Users) == 0 {
		e.t.Fatalf("login: %v (status %d)", err, resp.StatusCode)
	}
	return out.Users[0].Token
}

// uiLogin logs in through the page's form.
func (e *env) uiLogin() {
	e.t.Helper()
	e.run(30*time.Second,
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible("#login-pass", chromedp.ByID),
		chromedp.SendKeys("#login-pass", adminPassword, chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible("#conv-list", chromedp.ByID),
	)
	e.waitJS("the business number in the top bar", `document.getElementById('biz').textContent.includes('555')`, 10*time.Second)
}

// receiver is a webhook endpoint that records every body.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the first body containing every part, or fails at the deadline.
func (r *receiver) wait(t *testing.T, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for _, b := range r.bodies {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(b, p)
			}
			if all {
				r.mu.Unlock()
				return b
			}
		}
		n := len(r.bodies)
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the webhook receiver got no body with %q within %v (%d bodies)", parts, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) pointWebhooks(r *receiver) {
	e.call(http.MethodPatch, "/v1/settings/application", fmt.Sprintf(`{"webhooks":{"url":%q}}`, r.srv.URL+"/webhook"), http.StatusOK)
}

const peer = "15551230001"

func (e *env) userWrites(text string) {
	e.call(http.MethodPost, "/sandbox/v1/users/"+peer+"/messages", fmt.Sprintf(`{"type":"text","text":{"body":%q}}`, text), http.StatusCreated)
}

// openChat clicks the peer's conversation in the left column.
func (e *env) openChat() {
	e.t.Helper()
	sel := `#conv-list button[data-peer="` + peer + `"]`
	e.click(sel)
	e.waitJS("the chat header", `document.getElementById('chat-head').textContent.includes('555 123 0001')`, 10*time.Second)
}

// (1) A message sent through the API appears, formatted, with its ticks moving to read.
func TestBrowserTicksMoveToRead(t *testing.T) {
	e := setup(t)
	e.uiLogin()
	e.waitJS("the empty state with the curl command", `!document.getElementById('empty').hidden && document.getElementById('empty-curl').textContent.includes('/sandbox/v1/users/15551230001/messages')`, 10*time.Second)
	e.userWrites("Hi! Is my order on its way?")
	e.call(http.MethodPost, "/v1/messages", `{"to":"`+peer+`","type":"text","text":{"body":"Yes, it *ships* today <script>x</script>"}}`, http.StatusCreated)
	e.openChat()
	e.waitJS("the outbound bubble", `!!document.querySelector('.msg.out[data-type="text"]')`, 10*time.Second)
	e.waitJS("blue read ticks", `!!document.querySelector('.msg.out[data-status="read"] .tick.read')`, 30*time.Second)
	e.waitJS("bold formatting, HTML escaped", `(() => { const m = document.querySelector('.msg.out .text');
		return m.querySelector('b') && m.querySelector('b').textContent === 'ships' && !m.querySelector('script') && m.textContent.includes('<script>x</script>'); })()`, 5*time.Second)
	e.waitJS("the inbound message's webhook under it", `!!document.querySelector('.msg.in .hooks details[data-hook]')`, 10*time.Second)
}

// (2) A reply typed in the phone view reaches a real webhook receiver.
func TestBrowserPhoneReplyReachesWebhook(t *testing.T) {
	e := setup(t)
	rec := newReceiver(t)
	e.pointWebhooks(rec)
	e.uiLogin()
	e.run(20*time.Second,
		chromedp.SendKeys("#newchat-num", "+1 555 123 0001\n", chromedp.ByID), // Enter, as a person would
		chromedp.WaitVisible("#phone-text", chromedp.ByID),
		chromedp.SendKeys("#phone-text", "Where is my parcel?\n", chromedp.ByID),
	)
	body := rec.wait(t, 20*time.Second, `"Where is my parcel?"`, `"messages"`)
	if !strings.Contains(body, `"from":"`+peer+`"`) {
		t.Errorf("webhook body %s lacks from %s", body, peer)
	}
	e.waitJS("the reply in the chat with its delivered webhook", `!!document.querySelector('.msg.in .hooks details[data-state="delivered"]')`, 20*time.Second)
}

// (3) A tapped list row arrives at the receiver as a list_reply.
func TestBrowserListRowArrivesAsListReply(t *testing.T) {
	e := setup(t)
	rec := newReceiver(t)
	e.pointWebhooks(rec)
	e.userWrites("Can I choose a delivery slot?")
	e.call(http.MethodPost, "/v1/messages", `{"to":"`+peer+`","type":"interactive","interactive":{"type":"list",
		"body":{"text":"Pick a delivery slot"},"action":{"button":"Slots","sections":[{"title":"Tomorrow",
		"rows":[{"id":"slot-1","title":"09:00"},{"id":"slot-2","title":"10:00","description":"Morning delivery"}]}]}}}`, http.StatusCreated)
	e.uiLogin()
	e.openChat()
	e.click(`#phone-screen button[data-row="slot-2"]`)
	body := rec.wait(t, 20*time.Second, `"list_reply"`, `"slot-2"`)
	if !strings.Contains(body, `"context"`) {
		t.Errorf("the list_reply webhook has no context: %s", body)
	}
	e.waitJS("the list choice in the chat", `!!document.querySelector('.msg.in[data-type="interactive"]')`, 10*time.Second)
}

// (4) Advancing the clock from the dashboard closes the window: the next text fails with 470.
func TestBrowserClockAdvanceCloses24hWindow(t *testing.T) {
	e := setup(t)
	e.userWrites("Hi!")
	before := e.call(http.MethodGet, "/sandbox/v1/clock", "", http.StatusOK)["unix"].(float64)
	e.uiLogin()
	e.click("#tabbtn-dashboard")
	e.click("#dash-adv-24h")
	deadline := time.Now().Add(10 * time.Second)
	for e.call(http.MethodGet, "/sandbox/v1/clock", "", http.StatusOK)["unix"].(float64) < before+86400 {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard's +24 hours did not move the virtual clock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.waitJS("the dashboard clock a day later", fmt.Sprintf(`Date.parse(document.getElementById('dash-clock').textContent.replace(' UTC','Z').replace(' ','T')) >= %d`, int64(before+86400)*1000), 10*time.Second)
	e.waitJS("the shards card (one node owns all shards)", `(() => { const c = document.getElementById('dash-shards'); return !!c && c.querySelector('b').textContent === '1' && c.textContent.includes('1 node'); })()`, 10*time.Second)
	e.call(http.MethodPost, "/v1/messages", `{"to":"`+peer+`","type":"text","text":{"body":"Still there?"}}`, http.StatusCreated)
	e.click("#tabbtn-chats")
	e.openChat()
	e.waitJS("✗ 470 on the failed message", `(() => { const t = document.querySelector('.msg.out[data-status="failed"] .tick.failed');
		return !!t && t.textContent.includes('470') && t.title.includes('470'); })()`, 30*time.Second)
	e.waitJS("the conversation list shows 470", `document.querySelector('#conv-list button[data-peer="`+peer+`"]').textContent.includes('470')`, 10*time.Second)
}

// The page and its assets are public; data is not.
func TestUIDataNeedsToken(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.AdminPassword = adminPassword
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	for path, want := range map[string]int{
		"/": 200, "/ui/app.js": 200, "/ui/app.css": 200,
		"/ui/api/conversations": 401, "/ui/api/chat?peer=15551230001": 401, "/ui/api/stats": 401, "/ui/api/info": 401,
		"/ui/events": 401, "/ui/events?token=nope": 401,
	} {
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d: %s", path, resp.StatusCode, want, bytes.TrimSpace(b))
		}
	}
	// With a token the stream answers and Stop does not wait for it.
	e := &env{t: t, base: a.URL()}
	tok := e.login()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL()+"/ui/events?token="+tok, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadAtLeast(resp.Body, buf, 64)
	if resp.StatusCode != 200 || !strings.Contains(string(buf[:n]), "event: stats") {
		t.Fatalf("events: %d %q", resp.StatusCode, buf[:n])
	}
	start := time.Now()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := a.Stop(sctx); err != nil {
		t.Fatalf("Stop with an open stream: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v with an open events stream", d)
	}
}

// (5) A template shows the text the customer sees, rendered with its parameters, and its
// category (issue 5 item 7).
func TestBrowserTemplateShowsRenderedText(t *testing.T) {
	e := setup(t)
	e.uiLogin()
	e.userWrites("Hello")
	e.call(http.MethodPost, "/v1/messages", `{"to":"`+peer+`","type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`, http.StatusCreated)
	e.openChat()
	e.waitJS("the rendered hello_world", `(() => { const m = document.querySelector('.msg.out[data-type="template"]');
		return m && m.querySelector('.tmpl-header b').textContent === 'Hello World' &&
			m.querySelector('.tmpl-body').textContent.startsWith('Welcome and congratulations!!') &&
			m.querySelector('.tmpl-footer').textContent === 'WhatsApp Business Platform sample message' &&
			m.querySelector('.kind').textContent.endsWith('· utility'); })()`, 15*time.Second)
}
