package clients

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/app"
	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/wa"
)

// The Cloud identity every test's waba gets.
const (
	phoneID     = "106540352242922"
	wabaID      = "102290129340398"
	accessToken = "EAAG-clients-test-token-0123456789"
	appSecret   = "0123456789abcdef0123456789abcdef"
	verifyToken = "clients-verify-token"
	adminPass   = "T3st-Passw0rd!"
)

var wamidShape = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/=_-]{8,120}$`)

// testdata is the folder of package.json, the lock file and the scripts.
func testdata(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	npmOnce sync.Once
	npmErr  error
	npmLog  []byte
)

// needNode returns the node binary with the pinned modules installed. Without node or npm the
// test fails when WABA_TEST_REQUIRE_NODE=1 (CI) and is skipped, loudly, otherwise. npm ci runs
// once per process when node_modules is missing, with a throwaway cache: nothing is kept
// outside the repository.
func needNode(t *testing.T) string {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode == nil {
		errNode = nodeVersionOK(node)
	}
	if errNode != nil || errNpm != nil {
		msg := fmt.Sprintf("node ≥ %d and npm are needed to run the third-party client tests (node: %v, npm: %v)", minNode, errNode, errNpm)
		if os.Getenv("WABA_TEST_REQUIRE_NODE") == "1" {
			t.Fatal(msg + "; WABA_TEST_REQUIRE_NODE=1 makes this a failure")
		}
		fmt.Fprintln(os.Stderr, "SKIP "+t.Name()+": "+msg)
		t.Skip(msg + "; set WABA_TEST_REQUIRE_NODE=1 to make this a failure")
	}
	dir := testdata(t)
	npmOnce.Do(func() {
		if modulesPresent(dir) {
			return
		}
		cache, err := os.MkdirTemp("", "waba-npm-cache-")
		if err != nil {
			npmErr = err
			return
		}
		defer os.RemoveAll(cache)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--cache", cache)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
		npmLog, npmErr = cmd.CombinedOutput()
		if npmErr == nil && !modulesPresent(dir) {
			npmErr = fmt.Errorf("npm ci succeeded but the modules are still missing")
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, npmErr, npmLog)
	}
	return node
}

// minNode is the oldest Node.js major the pinned clients are run on. They declare ≥ 22
// (npm only warns, EBADENGINE) and pass on 20; 18 lacks the global WebCrypto whatsapp-api-js
// verifies signatures with.
const minNode = 20

func nodeVersionOK(node string) error {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %v", node, err)
	}
	v := strings.TrimSpace(string(out))
	var major int
	if _, err := fmt.Sscanf(v, "v%d.", &major); err != nil {
		return fmt.Errorf("%s --version answered %q", node, v)
	}
	if major < minNode {
		return fmt.Errorf("%s is %s, too old", node, v)
	}
	return nil
}

func modulesPresent(dir string) bool {
	for _, m := range []string{"whatsapp-api-js", "@great-detail/whatsapp"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
			return false
		}
	}
	return true
}

// waba is a running server plus what the scripts need to reach it.
type waba struct {
	t     *testing.T
	app   *app.App
	base  string
	admin string // On-Prem admin token, for the sandbox API
}

// startWaba runs a real waba on 127.0.0.1 (SQLite in a temp folder) with the test's Cloud
// identity; mutate adjusts the configuration first.
func startWaba(t *testing.T, mutate func(*config.Config)) *waba {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.AdminPassword = adminPass
	cfg.PhoneNumberID, cfg.WABAID, cfg.AccessToken = phoneID, wabaID, accessToken
	cfg.AppSecret, cfg.VerifyToken = appSecret, verifyToken
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("WABA_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	w := &waba{t: t, app: a, base: a.URL()}
	status, body := w.call("POST", "/v1/users/login", "", func(r *http.Request) { r.SetBasicAuth("admin", adminPass) })
	var login struct {
		Users []struct {
			Token string `json:"token"`
		} `json:"users"`
	}
	if err := json.Unmarshal(body, &login); status != 200 || err != nil || len(login.Users) != 1 {
		t.Fatalf("admin login: %d %s", status, body)
	}
	w.admin = login.Users[0].Token
	return w
}

func (w *waba) call(method, path, body string, edit func(*http.Request)) (int, []byte) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// sandbox calls waba's sandbox API as the admin.
func (w *waba) sandbox(method, path, body string) (int, []byte) {
	w.t.Helper()
	return w.call(method, "/sandbox/v1"+path, body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+w.admin) })
}

// userSays has a simulated user write to the business (opening the service window) and returns
// the Cloud id (wamid) of that inbound message.
func (w *waba) userSays(waID, text string) string {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{"type": "text", "text": map[string]string{"body": text}})
	status, raw := w.sandbox("POST", "/users/"+waID+"/messages", string(body))
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &r); status != 201 || err != nil {
		w.t.Fatalf("user %s says: %d %s", waID, status, raw)
	}
	n, inbound, ok := wa.ParseOnPremID(r.ID)
	if !ok || !inbound {
		w.t.Fatalf("inbound id %q", r.ID)
	}
	return wa.CloudID(n, true)
}

// advance moves waba's virtual clock forward.
func (w *waba) advance(d time.Duration) {
	w.t.Helper()
	if status, raw := w.sandbox("POST", "/clock/advance", fmt.Sprintf(`{"seconds":%g}`, d.Seconds())); status != 200 {
		w.t.Fatalf("advance: %d %s", status, raw)
	}
}

// env is what every script reads.
func (w *waba) env(extra ...string) []string {
	return append([]string{"WABA_BASE_URL=" + w.base, "WABA_TOKEN=" + accessToken, "WABA_PHONE_NUMBER_ID=" + phoneID,
		"WABA_WABA_ID=" + wabaID}, extra...)
}

// runScript runs testdata/<script> with node and returns its one JSON result line, failing the
// test with the script's own account of what failed when it exits non-zero.
func runScript(t *testing.T, node, script string, env []string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = testdata(t)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := lastJSONLine(stdout.Bytes())
	if err != nil {
		t.Fatalf("node %s: %v\nresult: %s\nstderr:\n%s", script, err, mustJSON(out), stderr.String())
	}
	if out == nil || out["ok"] != true {
		t.Fatalf("node %s: no ok result line\nstdout:\n%s\nstderr:\n%s", script, stdout.String(), stderr.String())
	}
	return out
}

func lastJSONLine(b []byte) map[string]any {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var out map[string]any
	if json.Unmarshal([]byte(lines[len(lines)-1]), &out) != nil {
		return nil
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// wantJSON compares got with the JSON text want exactly (key order and spacing aside).
func wantJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if mustJSON(got) != mustJSON(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, mustJSON(got), mustJSON(w))
	}
}

// sendResult checks a send response: one wamid-shaped id, and otherwise exactly the Cloud
// success body for recipient to (cloud-api.md §2.2). It returns the id.
func sendResult(t *testing.T, what string, got any, to string) string {
	t.Helper()
	m, _ := got.(map[string]any)
	msgs, _ := m["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("%s: %s", what, mustJSON(got))
	}
	id, _ := msgs[0].(map[string]any)["id"].(string)
	if !wamidShape.MatchString(id) {
		t.Fatalf("%s: message id %q is not a wamid", what, id)
	}
	wantJSON(t, what, got, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, to, to, id))
	return id
}

// wantGraphError checks a Graph error envelope exactly (cloud-api.md §4), its fbtrace_id aside.
func wantGraphError(t *testing.T, what string, got any, code int, message, details string) {
	t.Helper()
	e, _ := got.(map[string]any)["error"].(map[string]any)
	trace, _ := e["fbtrace_id"].(string)
	if trace == "" {
		t.Errorf("%s: no fbtrace_id in %s", what, mustJSON(got))
	}
	wantJSON(t, what, got, fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d,
		"error_data":{"messaging_product":"whatsapp","details":%q},"fbtrace_id":%q}}`, message, code, details, trace))
}

const numberNode = `{"id":"106540352242922","verified_name":"waba sandbox","code_verification_status":"VERIFIED",
	"display_phone_number":"+15550001111","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"}}`

// TestWhatsappAPIJSSend: whatsapp-api-js sends text, template, interactive buttons and location,
// and marks an inbound message read with a typing indicator, all through its fetch override.
func TestWhatsappAPIJSSend(t *testing.T) {
	node := needNode(t)
	w := startWaba(t, nil)
	const to = "15551230050"
	inbound := w.userSays(to, "hi, I need help")
	out := runScript(t, node, "wajs-send.mjs", w.env("WABA_TO="+to, "WABA_INBOUND_ID="+inbound))
	ids := map[string]bool{}
	for _, k := range []string{"text", "template", "interactive", "location"} {
		ids[sendResult(t, "whatsapp-api-js "+k, out[k], to)] = true
	}
	if len(ids) != 4 {
		t.Errorf("message ids are not distinct: %v", ids)
	}
	wantJSON(t, "whatsapp-api-js markAsRead", out["read"], `{"success":true}`)
	p := "POST /v24.0/" + phoneID + "/messages"
	wantJSON(t, "whatsapp-api-js requests", out["calls"], mustJSON([]string{p, p, p, p, p, p}))
	text := out["text"].(map[string]any)["messages"].([]any)[0].(map[string]any)["id"].(string)
	wantGraphError(t, "whatsapp-api-js markAsRead of an outbound id", out["readOutbound"], 131009, "(#131009) Parameter value is not valid",
		"Parameter 'message_id' has invalid value '"+text+"': no inbound message has this id")
	// What waba stored: the four sends, typed as the library sent them.
	for id := range ids {
		n, in, ok := wa.ParseCloudID(id)
		if !ok || in {
			t.Fatalf("ParseCloudID(%q) = %d %v %v", id, n, in, ok)
		}
		m, err := w.app.Store().GetMessage(t.Context(), n)
		if err != nil || m.Peer != to {
			t.Fatalf("stored %s: %+v %v", id, m, err)
		}
	}
}

// TestGreatDetailSend: @great-detail/whatsapp sends text and template messages, marks read and
// reads the number node, through its baseUrl option (its requests arrive unversioned).
func TestGreatDetailSend(t *testing.T) {
	node := needNode(t)
	w := startWaba(t, nil)
	const to = "15551230051"
	inbound := w.userSays(to, "hello")
	out := runScript(t, node, "gd-send.mjs", w.env("WABA_TO="+to, "WABA_INBOUND_ID="+inbound))
	a := sendResult(t, "@great-detail text", out["text"], to)
	b := sendResult(t, "@great-detail template", out["template"], to)
	if a == b {
		t.Errorf("same id twice: %s", a)
	}
	wantJSON(t, "@great-detail createStatus read", out["read"], `{"success":true}`)
	refused, _ := out["refused"].(map[string]any)
	if refused["status"] != float64(400) || refused["contentType"] != "application/json" {
		t.Errorf("@great-detail refused send: %s, want HTTP 400 with Content-Type application/json", mustJSON(refused))
	}
	wantGraphError(t, "@great-detail refused send", refused["data"], 131008, "(#131008) Required parameter is missing", "Missing mandatory parameter 'text.body'")
	// webhook_configuration{application} is a default field of the node (cloud-api.md §3b) that
	// the routes being built add; its value depends on the callback settings, so only its
	// shape is checked and the rest exactly.
	nb, _ := out["number"].(map[string]any)
	if wc, ok := nb["webhook_configuration"]; ok {
		if app, isStr := wc.(map[string]any)["application"].(string); !isStr || len(wc.(map[string]any)) != 1 {
			t.Errorf("@great-detail getPhoneNumber: webhook_configuration %s, want {\"application\":…} (%q)", mustJSON(wc), app)
		}
		delete(nb, "webhook_configuration")
	}
	wantJSON(t, "@great-detail getPhoneNumber", nb, numberNode)
}

// TestWhatsappAPIJSMedia: upload, retrieve, download, delete through whatsapp-api-js. Needs the
// Cloud media routes (cloud-api.md §5).
func TestWhatsappAPIJSMedia(t *testing.T) {
	node := needNode(t)
	w := startWaba(t, nil)
	out := runScript(t, node, "wajs-media.mjs", w.env())
	id, _ := out["upload"].(map[string]any)["id"].(string)
	wantJSON(t, "whatsapp-api-js uploadMedia", out["upload"], fmt.Sprintf(`{"id":%q}`, id))
	checkRetrieve(t, "whatsapp-api-js retrieveMedia", out["retrieve"], id, w.base)
	wantJSON(t, "whatsapp-api-js fetchMedia", out["download"], `{"status":200,"contentType":"image/png","same":true}`)
	wantJSON(t, "whatsapp-api-js deleteMedia", out["delete"], `{"success":true}`)
	e, _ := out["afterDelete"].(map[string]any)["error"].(map[string]any)
	if e["code"] != float64(100) || e["error_subcode"] != float64(33) {
		t.Errorf("retrieve after delete: %s, want code 100 subcode 33 (cloud-api.md §5)", mustJSON(out["afterDelete"]))
	}
}

// TestGreatDetailMedia: upload, get URL, download, delete through @great-detail/whatsapp.
func TestGreatDetailMedia(t *testing.T) {
	node := needNode(t)
	w := startWaba(t, nil)
	out := runScript(t, node, "gd-media.mjs", w.env())
	id, _ := out["upload"].(map[string]any)["id"].(string)
	wantJSON(t, "@great-detail media.upload", out["upload"], fmt.Sprintf(`{"id":%q}`, id))
	checkRetrieve(t, "@great-detail media.getURL", out["url"], id, w.base)
	wantJSON(t, "@great-detail media.download", out["download"], `{"status":200,"contentType":"image/png","same":true}`)
	wantJSON(t, "@great-detail media.delete", out["delete"], `{"success":true}`)
}

// checkRetrieve: the media node of the 1×1 PNG the scripts upload, with an absolute URL on waba.
func checkRetrieve(t *testing.T, what string, got any, id, base string) {
	t.Helper()
	m, _ := got.(map[string]any)
	url, _ := m["url"].(string)
	if !strings.HasPrefix(url, base+"/") {
		t.Errorf("%s: url %q is not on waba (%s)", what, url, base)
	}
	wantJSON(t, what, got, fmt.Sprintf(`{"messaging_product":"whatsapp","url":%q,"mime_type":"image/png",
		"sha256":"%x","file_size":%d,"id":%q}`, url, sha256.Sum256(pixelPNG()), len(pixelPNG()), id))
}

func pixelPNG() []byte {
	b, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
	return b
}

// TestGreatDetailTemplates: the template list has hello_world en_US, approved. Needs
// GET /{waba-id}/message_templates (cloud-api.md §6).
func TestGreatDetailTemplates(t *testing.T) {
	node := needNode(t)
	w := startWaba(t, nil)
	out := runScript(t, node, "gd-templates.mjs", w.env())
	data, _ := out["list"].(map[string]any)["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("template list filtered by name hello_world: %s", mustJSON(out["list"]))
	}
	row, _ := data[0].(map[string]any)
	tid, _ := row["id"].(string)
	wantJSON(t, "@great-detail template.list row", row,
		fmt.Sprintf(`{"name":"hello_world","language":"en_US","status":"APPROVED","category":"UTILITY","id":%q}`, tid))
}

// receiver is wajs-webhook.mjs running: whatsapp-api-js's own node:http webhook handler.
type receiver struct {
	url   string
	stdin io.WriteCloser
	lines *bufio.Scanner
	cmd   *exec.Cmd
	errb  *bytes.Buffer
}

type records struct {
	Verifications []struct {
		Status    int    `json:"status"`
		Challenge string `json:"challenge"`
		Answer    string `json:"answer"`
	} `json:"verifications"`
	Posts []struct {
		Status           int    `json:"status"`
		GreatDetailValid bool   `json:"greatDetailValid"`
		Signature        string `json:"signature"`
		Body             string `json:"body"`
	} `json:"posts"`
	Messages []struct {
		ID, From, Name, Type, Text string
	} `json:"messages"`
	Statuses []struct {
		ID, Status, Phone string
	} `json:"statuses"`
}

func startReceiver(t *testing.T, node string) *receiver {
	t.Helper()
	cmd := exec.Command(node, "wajs-webhook.mjs")
	cmd.Dir = testdata(t)
	cmd.Env = append(os.Environ(), "WABA_APP_SECRET="+appSecret, "WABA_VERIFY_TOKEN="+verifyToken, "WABA_TOKEN="+accessToken)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{stdin: stdin, lines: bufio.NewScanner(stdout), cmd: cmd, errb: &bytes.Buffer{}}
	r.lines.Buffer(nil, 64<<20)
	cmd.Stderr = r.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if !r.lines.Scan() {
		t.Fatalf("receiver did not start: %s", r.errb)
	}
	var first struct{ URL string }
	if err := json.Unmarshal(r.lines.Bytes(), &first); err != nil || first.URL == "" {
		t.Fatalf("receiver said %q: %s", r.lines.Text(), r.errb)
	}
	r.url = first.URL
	return r
}

// results asks the running receiver for what it recorded so far.
func (r *receiver) results(t *testing.T) records {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(r.url, "/webhook") + "/_results")
	if err != nil {
		t.Fatalf("receiver results: %v (%s)", err, r.errb)
	}
	defer resp.Body.Close()
	var rec records
	if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// post sends body to the receiver with signature and returns the status it answered.
func (r *receiver) post(t *testing.T, body []byte, signature string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestWhatsappAPIJSWebhookReceiverControls proves the receiver really verifies, independent of
// waba: a payload signed with the app secret over ASCII-escaped JSON is accepted, a wrong
// signature is refused with 401, and so is a correct HMAC over raw UTF-8 (the library hashes the
// \uXXXX-escaped form: webhooks.md §1.3).
func TestWhatsappAPIJSWebhookReceiverControls(t *testing.T) {
	node := needNode(t)
	r := startReceiver(t, node)
	escaped := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + wabaID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneID + `"},"contacts":[{"profile":{"name":"Jos\u00e9"},"wa_id":"15551230070"}],"messages":[{"from":"15551230070","id":"wamid.test","timestamp":"1700000000","type":"text","text":{"body":"caf\u00e9 \ud83d\udc4d"}}]}}]}]}`)
	if got := r.post(t, escaped, sign(escaped)); got != 200 {
		t.Errorf("escaped body with a good signature: %d, want 200 (%s)", got, r.errb)
	}
	if got := r.post(t, escaped, "sha256="+strings.Repeat("0", 64)); got != 401 {
		t.Errorf("wrong signature: %d, want 401", got)
	}
	var v any
	json.Unmarshal(escaped, &v)
	raw, _ := json.Marshal(v) // Go writes é and 👍 as raw UTF-8
	if got := r.post(t, raw, sign(raw)); got != 401 {
		t.Errorf("raw UTF-8 body with an HMAC over its bytes: %d, want 401 (the library re-escapes)", got)
	}
	rec := r.results(t)
	if len(rec.Messages) != 1 || rec.Messages[0].Text != "café 👍" || rec.Messages[0].Name != "José" {
		t.Errorf("messages: %+v", rec.Messages)
	}
	// @great-detail/whatsapp hashes the raw bytes: it agrees on the first two and accepts the
	// raw UTF-8 body that whatsapp-api-js refuses, which is why waba sends ASCII-only bodies.
	var verdicts []bool
	for _, p := range rec.Posts {
		verdicts = append(verdicts, p.GreatDetailValid)
	}
	if mustJSON(verdicts) != "[true,false,true]" {
		t.Errorf("@great-detail checkSignature verdicts %v, want [true false true]", verdicts)
	}
}

// TestWhatsappAPIJSWebhooks: waba delivers Cloud-format webhooks, signed with the app secret, to
// a receiver built on whatsapp-api-js's own handler (with @great-detail/whatsapp's signature
// check alongside). Every status of every message the library
// sent (sent, delivered, read) and an inbound message with accents and emoji must be accepted
// and parsed. Needs Cloud webhook delivery for a number whose dialect is cloud (webhooks.md §1).
func TestWhatsappAPIJSWebhooks(t *testing.T) {
	node := needNode(t)
	r := startReceiver(t, node)
	w := startWaba(t, func(c *config.Config) {
		c.WebhookDialect = "cloud"
		c.CallbackURL = r.url
	})
	const to = "15551230060"
	const name = "José Ñúñez 😀"
	const text = "Olá! Está tudo bem? café ñandú 👍🏽 — “quoted” \u007f"
	if status, raw := w.sandbox("PUT", "/users/"+to, mustJSON(map[string]string{"name": name})); status != 200 {
		t.Fatalf("sandbox PUT user: %d %s", status, raw)
	}
	inbound := w.userSays(to, text)
	out := runScript(t, node, "wajs-send.mjs", w.env("WABA_TO="+to, "WABA_INBOUND_ID="+inbound))
	var ids []string
	for _, k := range []string{"text", "template", "interactive", "location"} {
		ids = append(ids, sendResult(t, "whatsapp-api-js "+k, out[k], to))
	}

	// Move virtual time until every message has its three statuses (or 20 s of real time pass).
	want := map[string]string{}
	for _, id := range ids {
		want[id] = "sent,delivered,read"
	}
	var rec records
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec = r.results(t)
		got := map[string][]string{}
		for _, s := range rec.Statuses {
			got[s.ID] = append(got[s.ID], s.Status)
		}
		complete := len(rec.Messages) >= 1
		for id, ws := range want {
			if strings.Join(got[id], ",") != ws {
				complete = false
			}
		}
		if complete || time.Now().After(deadline) {
			break
		}
		if len(rec.Posts) == 0 && time.Now().After(deadline.Add(-15*time.Second)) {
			break // nothing at all after 5 s: delivery is not happening, no use waiting
		}
		w.advance(time.Second)
		time.Sleep(50 * time.Millisecond)
	}

	// Every POST was accepted by the library (200), signed, and ASCII-only.
	var refused []string
	for _, p := range rec.Posts {
		if p.Status != 200 || !p.GreatDetailValid {
			refused = append(refused, fmt.Sprintf("whatsapp-api-js HTTP %d, @great-detail signature valid %v, signature=%q body=%.300s",
				p.Status, p.GreatDetailValid, p.Signature, p.Body))
		}
		for _, c := range p.Body {
			if c > 0x7e {
				t.Errorf("webhook body is not ASCII-only (webhooks.md §1.3): %.300s", p.Body)
				break
			}
		}
	}
	if len(refused) > 0 {
		t.Errorf("%d of %d webhook POSTs refused:\n%s", len(refused), len(rec.Posts), strings.Join(refused, "\n"))
	}
	if len(rec.Posts) == 0 {
		t.Fatalf("no webhook POST reached the receiver at %s (Cloud webhook delivery for a cloud-dialect number)", r.url)
	}
	// The inbound message, accents and emoji intact.
	if len(rec.Messages) != 1 {
		t.Errorf("on.message got %d messages, want 1: %+v", len(rec.Messages), rec.Messages)
	} else if m := rec.Messages[0]; m.ID != inbound || m.From != to || m.Name != name || m.Type != "text" || m.Text != text {
		t.Errorf("on.message got %+v\nwant id=%s from=%s name=%q text=%q", m, inbound, to, name, text)
	}
	// Every status of every sent message, each exactly once, in order.
	got := map[string][]string{}
	for _, s := range rec.Statuses {
		if s.Phone != to {
			t.Errorf("status %s %s for %q, want %s", s.ID, s.Status, s.Phone, to)
		}
		got[s.ID] = append(got[s.ID], s.Status)
	}
	for _, id := range ids {
		if g := strings.Join(got[id], ","); g != want[id] {
			t.Errorf("on.status for %s: %q, want %q", id, g, want[id])
		}
	}
	// One status per POST (webhooks.md §1: the library reads only statuses[0]).
	if n := len(rec.Statuses) + len(rec.Messages); n != len(rec.Posts) {
		t.Errorf("%d POSTs carried %d parsed updates: one update per POST expected", len(rec.Posts), n)
	}
}

// TestWhatsappAPIJSVerifyHandshake: setting a WABA's override callback through
// @great-detail/whatsapp's subscribedApps makes waba play Meta's hub.challenge handshake
// against the whatsapp-api-js receiver (handle_get) before it answers success
// (cloud-api.md §3b, §7.1); a wrong verify token is refused by the library and the
// subscription fails.
func TestWhatsappAPIJSVerifyHandshake(t *testing.T) {
	node := needNode(t)
	r := startReceiver(t, node)
	w := startWaba(t, nil)
	out := runScript(t, node, "gd-subscribe.mjs", w.env("WABA_CALLBACK_URL="+r.url, "WABA_VERIFY_TOKEN="+verifyToken))
	wantJSON(t, "@great-detail subscribedApps.createSubscription", out["subscribe"], `{"success":true}`)
	rec := r.results(t)
	if len(rec.Verifications) != 1 || rec.Verifications[0].Status != 200 || rec.Verifications[0].Answer != rec.Verifications[0].Challenge ||
		rec.Verifications[0].Challenge == "" {
		t.Fatalf("handshakes seen by the receiver: %+v", rec.Verifications)
	}
	list, _ := out["list"].(map[string]any)
	data, _ := list["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["override_callback_uri"] != r.url {
		t.Errorf("subscribedApps.listSubscriptions: %s", mustJSON(list))
	}

	// The wrong token: the library answers 403 and waba must not take the callback.
	out = runScript(t, node, "gd-subscribe.mjs", w.env("WABA_CALLBACK_URL="+r.url, "WABA_VERIFY_TOKEN=wrong-token", "WABA_EXPECT_FAILURE=1"))
	rec = r.results(t)
	if len(rec.Verifications) != 2 || rec.Verifications[1].Status != 403 {
		t.Fatalf("handshakes seen by the receiver: %+v", rec.Verifications)
	}
	if e, _ := out["subscribe"].(map[string]any)["error"].(map[string]any); e == nil {
		t.Errorf("subscription with a refused handshake answered %s, want a Graph error", mustJSON(out["subscribe"]))
	}
}
