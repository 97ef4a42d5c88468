package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/wa"
)

const moreWABAID = "102290129340398"

// graph calls a Cloud route with tok.
func graph(t *testing.T, w *world, method, path, tok, body string) response {
	t.Helper()
	return do(t, w.base, request{method: method, path: path, token: tok, body: body})
}

// wantGraphAuth asserts a 190 envelope: free text in message, equal to details, and the
// subcode when not 0 (errors.md §2.1).
func wantGraphAuth(t *testing.T, r response, subcode int, messageHas string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	trace, _ := e["fbtrace_id"].(string)
	want := map[string]any{"message": msg, "type": "OAuthException", "code": float64(190),
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": msg}, "fbtrace_id": trace}
	if subcode != 0 {
		want["error_subcode"] = float64(subcode)
	}
	if r.status != 401 || len(trace) != 23 || !strings.Contains(msg, messageHas) || !jsonEqual(r.body, map[string]any{"error": want}) {
		t.Fatalf("got %d %s\nwant 401 %s (message containing %q)", r.status, r.raw, mustJSON(want), messageHas)
	}
}

// addNumber adds a business number through the sandbox and returns its phone_number_id.
func addNumber(t *testing.T, w *world, body string) string {
	t.Helper()
	r := w.sandbox("POST", "/numbers", body)
	id, _ := r.body["phone_number_id"].(string)
	if r.status != 201 || len(id) != 15 {
		t.Fatalf("add number: %d %s", r.status, r.raw)
	}
	return id
}

// cloudToken makes a Cloud token through the sandbox.
func cloudToken(t *testing.T, w *world, body string) string {
	t.Helper()
	r := w.sandbox("POST", "/cloud/tokens", body)
	tok, _ := r.body["token"].(string)
	if r.status != 201 || tok == "" {
		t.Fatalf("create token: %d %s", r.status, r.raw)
	}
	return tok
}

// TestCloudRoutesSecondNumber: a number added through the sandbox sends through its own
// phone-number id, its messages carry it as their business, and the WABA lists both numbers.
func TestCloudRoutesSecondNumber(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		second := addNumber(t, w, `{"phone":"+1 555 000 2222","verified_name":"Second Shop"}`)

		r := graph(t, w, "POST", "/v24.0/"+second+"/messages", moreToken, `{"messaging_product":"whatsapp","to":"15551230040","type":"text","text":{"body":"from the second number"}}`)
		msgs, _ := r.body["messages"].([]any)
		if r.status != 200 || len(msgs) != 1 {
			t.Fatalf("send from the second number: %d %s", r.status, r.raw)
		}
		n, _, _ := wa.ParseCloudID(msgs[0].(map[string]any)["id"].(string))
		m, err := w.app.Store().GetMessage(t.Context(), n)
		if err != nil || m.Business != "15550002222" || m.Peer != "15551230040" {
			t.Fatalf("stored: %+v %v", m, err)
		}
		first := cloudSendOK(t, w, "15551230040", `{"messaging_product":"whatsapp","to":"15551230040","type":"text","text":{"body":"from the default"}}`)
		n, _, _ = wa.ParseCloudID(first)
		if m, err := w.app.Store().GetMessage(t.Context(), n); err != nil || m.Business != w.app.cfg.PhoneNumber {
			t.Fatalf("default number's message: %+v %v", m, err)
		}

		r = graph(t, w, "GET", "/v24.0/"+second+"?fields=display_phone_number,verified_name", moreToken, "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": second, "display_phone_number": "+15550002222", "verified_name": "Second Shop"}) {
			t.Fatalf("second number node: %d %s", r.status, r.raw)
		}

		// phone_numbers: both, default first; limit=1 pages with cursors and next.
		node := func(id, phone, name string) map[string]any {
			return map[string]any{"id": id, "verified_name": name, "code_verification_status": "VERIFIED", "display_phone_number": phone,
				"quality_rating": "GREEN", "platform_type": "CLOUD_API", "throughput": map[string]any{"level": "STANDARD"}}
		}
		r = graph(t, w, "GET", "/v24.0/"+moreWABAID+"/phone_numbers", moreToken, "")
		paging, _ := r.body["paging"].(map[string]any)
		cursors, _ := paging["cursors"].(map[string]any)
		want := map[string]any{"data": []any{node(morePhoneID, "+15550001111", "waba sandbox"), node(second, "+15550002222", "Second Shop")},
			"paging": map[string]any{"cursors": map[string]any{"before": cursors["before"], "after": cursors["after"]}}}
		if r.status != 200 || !jsonEqual(r.body, want) || cursors["before"] == "" || cursors["before"] == cursors["after"] {
			t.Fatalf("phone_numbers: %d %s\nwant %s", r.status, r.raw, mustJSON(want))
		}
		r = graph(t, w, "GET", "/"+moreWABAID+"/phone_numbers?limit=1&fields=display_phone_number", moreToken, "")
		paging, _ = r.body["paging"].(map[string]any)
		next, _ := paging["next"].(string)
		if data, _ := r.body["data"].([]any); r.status != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != morePhoneID || next == "" {
			t.Fatalf("first page: %d %s", r.status, r.raw)
		}
		u, _ := url.Parse(next)
		r = graph(t, w, "GET", u.RequestURI(), moreToken, "")
		paging, _ = r.body["paging"].(map[string]any)
		if r.status != 200 || !jsonEqual(r.body["data"], []any{map[string]any{"id": second, "display_phone_number": "+15550002222"}}) || paging["next"] != nil {
			t.Fatalf("second page: %d %s", r.status, r.raw)
		}

		// An id that names nothing is still 33.
		wantGraphCode(t, graph(t, w, "POST", "/v24.0/123456789012345/messages", moreToken, `{}`), 400, 33, "Parameter value is not valid", 0, "Object with ID '123456789012345' does not exist")

		// The banner shows the default number's Cloud identity.
		var b bytes.Buffer
		w.app.banner(&b)
		for _, s := range []string{"Phone-number id  " + morePhoneID, "WABA id          " + moreWABAID, "Access token     " + moreToken,
			"App secret       " + w.app.cfg.AppSecret, "Verify token     " + w.app.cfg.VerifyToken, "Webhook dialect  onprem"} {
			if !strings.Contains(b.String(), s) {
				t.Errorf("banner lacks %q:\n%s", s, b.String())
			}
		}
		// The banner's hello_world command works as printed (issue 5 item 6).
		hello := regexp.MustCompile(`-d '(\{"messaging_product"[^']*)' (\S+)/v24\.0/(\d+)/messages`).FindStringSubmatch(b.String())
		if hello == nil || hello[2] != w.base || hello[3] != morePhoneID {
			t.Fatalf("banner has no Cloud hello_world command:\n%s", b.String())
		}
		cloudSendOK(t, w, "15551230002", hello[1])
	})
}

// TestCloudRoutesTokens: missing 104, unknown 190, expired 190/463 on the virtual clock,
// revoked 190, and the permission denials 10 (messaging) and 200 (management).
func TestCloudRoutesTokens(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		send := `{"messaging_product":"whatsapp","to":"15551230050","type":"text","text":{"body":"hi"}}`
		path := "/v24.0/" + morePhoneID

		wantGraphCode(t, graph(t, w, "GET", path, "", ""), 401, 104, "An access token is required to request this resource", 0, "Authorization: Bearer")
		wantGraphAuth(t, graph(t, w, "GET", path, "EAAGunknown", ""), 0, "Invalid OAuth access token")

		messaging := cloudToken(t, w, `{"permissions":["whatsapp_business_messaging"]}`)
		management := cloudToken(t, w, `{"permissions":["whatsapp_business_management"]}`)
		if r := graph(t, w, "POST", path+"/messages", messaging, send); r.status != 200 {
			t.Fatalf("send with a messaging token: %d %s", r.status, r.raw)
		}
		wantGraphCode(t, graph(t, w, "GET", path, messaging, ""), 403, 200, "API Permission", 0, "whatsapp_business_management")
		wantGraphCode(t, graph(t, w, "GET", "/"+moreWABAID+"/subscribed_apps", messaging, ""), 403, 200, "API Permission", 0, "whatsapp_business_management")
		wantGraphCode(t, graph(t, w, "POST", path+"/messages", management, send), 403, 10, "Permission Denied", 0, "whatsapp_business_messaging")
		if r := graph(t, w, "GET", "/"+moreWABAID+"?access_token="+url.QueryEscape(management), "", ""); r.status != 200 {
			t.Fatalf("WABA node with a management token in the query: %d %s", r.status, r.raw)
		}

		// Expiry follows the virtual clock.
		expiring := cloudToken(t, w, `{"expires_in":60}`)
		if r := graph(t, w, "GET", path, expiring, ""); r.status != 200 {
			t.Fatalf("fresh token: %d %s", r.status, r.raw)
		}
		w.advance(61 * time.Second)
		wantGraphAuth(t, graph(t, w, "GET", path, expiring, ""), 463, "Error validating access token: Session has expired on ")
		if r := graph(t, w, "GET", path, management, ""); r.status != 200 {
			t.Fatalf("a token without expiry after the clock moved: %d %s", r.status, r.raw)
		}

		// Revoked → 190; the list never shows secrets.
		r := w.sandbox("GET", "/cloud/tokens", "")
		toks, _ := r.body["tokens"].([]any)
		if r.status != 200 || len(toks) != 3 || strings.Contains(string(r.raw), messaging) {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		id := toks[0].(map[string]any)["id"].(string)
		if r := w.sandbox("DELETE", "/cloud/tokens/"+id, ""); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantGraphAuth(t, graph(t, w, "POST", path+"/messages", messaging, send), 0, "Invalid OAuth access token")
	})
}

// TestCloudRoutesTokensPersist: sandbox-made tokens survive a restart (they are stored hashed).
func TestCloudRoutesTokensPersist(t *testing.T) {
	cfg := cloudConfig(config.Default())
	cfg.Addr, cfg.Data, cfg.AdminPassword = "127.0.0.1:0", t.TempDir(), testAdminPassword
	w := newWorld(t, cfg)
	tok := cloudToken(t, w, `{"permissions":["whatsapp_business_management"]}`)
	if err := w.app.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := start(t, cfg)
	r := do(t, b.URL(), request{method: "GET", path: "/v24.0/" + morePhoneID + "?fields=id", token: tok})
	if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": morePhoneID}) {
		t.Fatalf("after restart: %d %s", r.status, r.raw)
	}
}

// handshakeReceiver answers Meta's hub.challenge GET: it echoes the challenge when the verify
// token is good, and 403 otherwise. It counts the GETs it got.
func handshakeReceiver(t *testing.T, good string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n.Add(1)
		q := r.URL.Query()
		if r.Method != http.MethodGet || q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != good {
			http.Error(rw, "Forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprint(rw, q.Get("hub.challenge"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestCloudRoutesSubscribedApps: POST with a handshake first (form, JSON or query), GET, an
// empty POST clears the override, DELETE unsubscribes.
func TestCloudRoutesSubscribedApps(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		recv, gets := handshakeReceiver(t, "good-token")
		path := "/v24.0/" + moreWABAID + "/subscribed_apps"
		reg, err := w.app.Engine().Registry(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		appData := map[string]any{"id": reg.App.ID, "name": "waba sandbox", "link": "https://www.facebook.com/games/?app_id=" + reg.App.ID}

		if r := graph(t, w, "GET", path, moreToken, ""); r.status != 200 || string(r.raw) != `{"data":[]}` {
			t.Fatalf("GET before subscribing: %d %s", r.status, r.raw)
		}
		// Form body.
		r := do(t, w.base, request{method: "POST", path: path, token: moreToken, contentType: "application/x-www-form-urlencoded",
			body: url.Values{"override_callback_uri": {recv.URL + "/hook"}, "verify_token": {"good-token"}}.Encode()})
		if r.status != 200 || string(r.raw) != `{"success":true}` || gets.Load() != 1 {
			t.Fatalf("subscribe: %d %s (%d handshakes)", r.status, r.raw, gets.Load())
		}
		r = graph(t, w, "GET", path, moreToken, "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"data": []any{map[string]any{"whatsapp_business_api_data": appData, "override_callback_uri": recv.URL + "/hook"}}}) {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
		// JSON body with the wrong verify token: 100 quoting the handshake, nothing stored.
		r = graph(t, w, "POST", path, moreToken, fmt.Sprintf(`{"override_callback_uri":%q,"verify_token":"bad"}`, recv.URL+"/other"))
		wantGraphCode(t, r, 400, 100, "Invalid parameter", 0, "Callback verification failed: verification GET to ")
		if !strings.Contains(string(r.raw), "answered HTTP 403") || gets.Load() != 2 {
			t.Fatalf("details: %s (%d handshakes)", r.raw, gets.Load())
		}
		if reg, _ := w.app.Engine().Registry(t.Context()); reg.WABAs[0].CallbackURL != recv.URL+"/hook" {
			t.Fatalf("failed handshake changed the override: %+v", reg.WABAs)
		}
		// Query parameters work too.
		q := url.Values{"override_callback_uri": {recv.URL + "/q"}, "verify_token": {"good-token"}}.Encode()
		if r := graph(t, w, "POST", path+"?"+q, moreToken, ""); r.status != 200 || string(r.raw) != `{"success":true}` {
			t.Fatalf("subscribe with query parameters: %d %s", r.status, r.raw)
		}
		if reg, _ := w.app.Engine().Registry(t.Context()); reg.WABAs[0].CallbackURL != recv.URL+"/q" || reg.WABAs[0].VerifyToken != "good-token" {
			t.Fatalf("stored: %+v", reg.WABAs)
		}
		// Too long, not a URL, no verify token: 100 before any handshake.
		long := "https://example.com/" + strings.Repeat("a", 181)
		before := gets.Load()
		for _, body := range []string{
			fmt.Sprintf(`{"override_callback_uri":%q,"verify_token":"good-token"}`, long),
			`{"override_callback_uri":"not a url","verify_token":"good-token"}`,
			fmt.Sprintf(`{"override_callback_uri":%q}`, recv.URL),
		} {
			wantGraphCode(t, graph(t, w, "POST", path, moreToken, body), 400, 100, "Invalid parameter", 0, "override_callback_uri")
		}
		if gets.Load() != before {
			t.Fatal("a handshake was sent for an invalid override")
		}
		// An empty POST clears the override and stays subscribed.
		if r := graph(t, w, "POST", path, moreToken, ""); r.status != 200 {
			t.Fatalf("empty POST: %d %s", r.status, r.raw)
		}
		r = graph(t, w, "GET", path, moreToken, "")
		if !jsonEqual(r.body, map[string]any{"data": []any{map[string]any{"whatsapp_business_api_data": appData}}}) {
			t.Fatalf("GET after clearing: %s", r.raw)
		}
		if r := graph(t, w, "DELETE", path, moreToken, ""); r.status != 200 || string(r.raw) != `{"success":true}` {
			t.Fatalf("DELETE: %d %s", r.status, r.raw)
		}
		if r := graph(t, w, "GET", path, moreToken, ""); string(r.raw) != `{"data":[]}` {
			t.Fatalf("GET after DELETE: %s", r.raw)
		}
	})
}

// TestCloudRoutesNumberOverride: POST /{phone-number-id} (with a trailing slash) sets the
// number's webhook override after the handshake; GET ?fields=webhook_configuration reads it.
func TestCloudRoutesNumberOverride(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		recv, gets := handshakeReceiver(t, "num-token")
		body := func(uri, tok string) string {
			return fmt.Sprintf(`{"webhook_configuration":{"override_callback_uri":%q,"verify_token":%q}}`, uri, tok)
		}
		r := graph(t, w, "POST", "/v24.0/"+morePhoneID+"/", moreToken, body(recv.URL+"/n", "wrong"))
		wantGraphCode(t, r, 400, 100, "Invalid parameter", 0, "Callback verification failed")
		if r := graph(t, w, "POST", "/v24.0/"+morePhoneID+"/", moreToken, body(recv.URL+"/n", "num-token")); r.status != 200 || string(r.raw) != `{"success":true}` {
			t.Fatalf("override: %d %s", r.status, r.raw)
		}
		if gets.Load() != 2 {
			t.Fatalf("%d handshakes, want 2", gets.Load())
		}
		r = graph(t, w, "GET", "/v24.0/"+morePhoneID+"?fields=webhook_configuration", moreToken, "")
		if r.status != 200 || !jsonEqual(r.body, map[string]any{"id": morePhoneID, "webhook_configuration": map[string]any{"application": "", "phone_number": recv.URL + "/n"}}) {
			t.Fatalf("read back: %d %s", r.status, r.raw)
		}
		reg, _ := w.app.Engine().Registry(t.Context())
		if n, _ := reg.NumberByID(morePhoneID); n.CallbackURL != recv.URL+"/n" || n.VerifyToken != "num-token" {
			t.Fatalf("registry: %+v", n)
		}
		wantGraphCode(t, graph(t, w, "POST", "/v24.0/"+morePhoneID, moreToken, `{"webhook_configuration":"nope"}`), 400, 100, "Invalid parameter", 0, "webhook_configuration")
		// An empty override_callback_uri removes it, with no handshake.
		if r := graph(t, w, "POST", "/"+morePhoneID, moreToken, body("", "")); r.status != 200 {
			t.Fatalf("remove: %d %s", r.status, r.raw)
		}
		if reg, _ := w.app.Engine().Registry(t.Context()); reg.Numbers[0].CallbackURL != "" || gets.Load() != 2 {
			t.Fatalf("after removing: %+v, %d handshakes", reg.Numbers[0], gets.Load())
		}
	})
}

// TestCloudRoutesPairRate: the 46th message to one user within 6 s is 131056; another user or
// another number is not affected; 6 s of virtual time give one message back.
func TestCloudRoutesPairRate(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		w := newWorld(t, cloudConfig(cfg))
		msg := func(to string) string {
			return fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"text","text":{"body":"again"}}`, to)
		}
		// Refused requests are not messages to the user: they use none of the allowance.
		for range 5 {
			if r := cloudSend(t, w, `{"messaging_product":"whatsapp","to":"15551230060","type":"text","text":{}}`); r.status != 400 {
				t.Fatalf("invalid send: %d %s", r.status, r.raw)
			}
		}
		var r response
		sent, began := 0, time.Now()
		for ; sent < 100; sent++ {
			if r = cloudSend(t, w, msg("15551230060")); r.status != 200 {
				break
			}
		}
		// 45 is the burst; the virtual clock flows with real time, which gives one message
		// back every 6 s spent sending.
		if extra := int(time.Since(began) / (6 * time.Second)); sent < 45 || sent > 45+extra {
			t.Fatalf("%d messages before the pair limit in %v, want 45 (+%d)", sent, time.Since(began), extra)
		}
		wantGraphCode(t, r, 400, 131056, "(Business Account, Consumer Account) pair rate limit hit", 0,
			"Too many messages from +15550001111 to 15551230060: about 1 message every 6 seconds to the same user")
		cloudSendOK(t, w, "15551230061", msg("15551230061"))
		second := addNumber(t, w, `{"phone":"15550002222"}`)
		if r := graph(t, w, "POST", "/"+second+"/messages", moreToken, msg("15551230060")); r.status != 200 {
			t.Fatalf("another number to the same user: %d %s", r.status, r.raw)
		}
		w.advance(6 * time.Second)
		cloudSendOK(t, w, "15551230060", msg("15551230060"))
	})
}

// TestCloudRoutesThroughput: requests beyond the number's 80 per second are 130429 (every
// call of the send route counts, so cheap invalid ones reach it fastest).
func TestCloudRoutesThroughput(t *testing.T) {
	cfg := cloudConfig(config.Default())
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	w := newWorld(t, cfg)
	var (
		mu   sync.Mutex
		hit  []byte
		done atomic.Bool
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500 && !done.Load(); i++ {
				req, _ := http.NewRequest("POST", w.base+"/v24.0/"+morePhoneID+"/messages", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+moreToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				if strings.Contains(b.String(), `"code":130429`) {
					mu.Lock()
					hit = b.Bytes()
					mu.Unlock()
					done.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if hit == nil {
		t.Fatal("4000 requests never reached the 80/s throughput limit")
	}
	r := do(t, w.base, request{method: "POST", path: "/v24.0/" + morePhoneID + "/messages", token: moreToken, body: `{}`})
	// The limit may have refilled by now; the envelope is checked on whichever answer is 130429.
	if r.status != 400 || !strings.Contains(string(r.raw), `"code":130429`) {
		r = response{status: 400, header: http.Header{"Content-Type": {"application/json"}}, raw: hit}
		if err := json.Unmarshal(hit, &r.body); err != nil {
			t.Fatal(err)
		}
	}
	wantGraphCode(t, r, 400, 130429, "Rate limit hit", 0, "Cloud API message throughput has been reached: +15550001111 sends at most 80 messages per second")
	w.advance(time.Second)
	cloudSendOK(t, w, "15551230070", `{"messaging_product":"whatsapp","to":"15551230070","type":"text","text":{"body":"after the burst"}}`)
}

// TestCloudRoutesOutage: during a sandbox API outage every Graph call answers 503 with code 2.
func TestCloudRoutesOutage(t *testing.T) {
	cfg := cloudConfig(config.Default())
	cfg.Addr, cfg.Data = "127.0.0.1:0", t.TempDir()
	w := newWorld(t, cfg)
	if r := w.sandbox("POST", "/outage", `{"seconds":60}`); r.status != 200 {
		t.Fatalf("outage: %d %s", r.status, r.raw)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v24.0/" + morePhoneID, ""},
		{"POST", "/v24.0/" + morePhoneID + "/messages", `{"messaging_product":"whatsapp","to":"15551230080","type":"text","text":{"body":"x"}}`},
	} {
		wantGraphCode(t, graph(t, w, c.method, c.path, moreToken, c.body), 503, 2, "API Service", 0, "temporarily unavailable")
	}
	w.advance(61 * time.Second)
	if r := graph(t, w, "GET", "/v24.0/"+morePhoneID, moreToken, ""); r.status != 200 {
		t.Fatalf("after the outage: %d %s", r.status, r.raw)
	}
}
