package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store/pgtest"
)

// process is a waba binary running as its own OS process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr bytes.Buffer
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "waba")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/waba").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin, addr string, env ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin), base: "http://" + addr}
	p.cmd.Env = append(os.Environ(), append([]string{"WABA_ADDR=" + addr, "WABA_ADMIN_PASSWORD=" + testAdminPassword}, env...)...)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waba did not become healthy:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func reserveAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCrashLosesNothing kills waba with SIGKILL while it holds accepted messages that were
// never handed to the network and webhooks its endpoint never acknowledged (the receiver is
// down), restarts it on the same data, brings the receiver up, and checks that every message
// reaches read and every status and the inbound message arrive: nothing lost (issue 3).
func TestCrashLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			env := []string{"WABA_DATA=" + filepath.Join(t.TempDir(), "data")}
			if driver == "postgres" {
				env = append(env, "WABA_DB="+pgtest.URL(t))
			}
			recvAddr := reserveAddr(t)
			addr := reserveAddr(t)
			p := startProcess(t, bin, addr, env...)
			w := &world{t: t, base: p.base}
			w.tok = login(t, p.base, "admin", testAdminPassword)
			w.patchSettings(fmt.Sprintf(`{"webhooks":{"url":"http://%s/hook"},"sent_status":true}`, recvAddr))

			w.userSays("15551232000", "are you there?")
			var ids []string
			for i := range 30 {
				ids = append(ids, w.template(fmt.Sprintf("155512321%02d", i)))
			}
			// Wait until the network has answered them all: 3 statuses each plus the inbound
			// message, all pending because the endpoint is down.
			waitPending(t, w, 30*3+1)
			// Then accept more while the network is down: these are durable but never handed over.
			w.sandbox("POST", "/network/down", "")
			for i := range 10 {
				ids = append(ids, w.template(fmt.Sprintf("155512322%02d", i)))
			}

			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()

			recv := newReceiverAt(t, recvAddr)
			p2 := startProcess(t, bin, addr, env...)
			w2 := &world{t: t, base: p2.base, recv: recv}
			w2.tok = login(t, p2.base, "admin", testAdminPassword)
			// The network state is not persisted: a restarted waba starts with the network up.
			for _, id := range ids {
				w2.expectStatusesEventually(id, "sent", "delivered", "read")
			}
			if msgs, _ := recv.messagesFrom("15551232000"); len(msgs) != 1 {
				t.Fatalf("inbound message delivered %d times after restart, want 1", len(msgs))
			}
		})
	}
}

func waitPending(t *testing.T, w *world, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := w.sandbox("GET", "/webhooks?state=pending&limit=1", "")
		if r.status != 200 {
			t.Fatalf("webhooks: %d %s", r.status, r.raw)
		}
		if got := int(r.body["pending"].(float64)); got >= n {
			if got != n {
				t.Fatalf("%d webhooks pending, want %d", got, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %v webhooks pending, want %d", r.body["pending"], n)
		}
		w.advance(2 * time.Second)
		time.Sleep(20 * time.Millisecond)
	}
}

// expectStatusesEventually advances virtual time (past any webhook back-off) until id has the
// wanted statuses; duplicates are allowed (delivery is at least once) but order is not.
func (w *world) expectStatusesEventually(id string, want ...string) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := dedupe(describe(w.recv.statuses(id)))
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("message %s: statuses %v, want %v", id, got, want)
		}
		w.advance(10 * time.Second)
		time.Sleep(50 * time.Millisecond)
	}
}

// dedupe drops repeats of a status already seen (at-least-once delivery may repeat a POST
// whose answer was lost in the crash).
func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestVirtualClockSurvivesRestart: time moved forward in the sandbox stays moved after a
// restart, so held messages and windows keep their meaning.
func TestVirtualClockSurvivesRestart(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		ctx := context.Background()
		a, err := New(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w := &world{t: t, base: a.URL()}
		w.tok = login(t, w.base, "admin", testAdminPassword)
		w.advance(48 * time.Hour)
		before := a.clock.Now()
		// The jump is saved asynchronously; wait for it.
		deadline := time.Now().Add(5 * time.Second)
		for {
			if raw, err := a.store.GetSetting(ctx, clockKey); err == nil && len(raw) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("clock offset never saved")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := a.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := New(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Stop(ctx)
		if d := b.clock.Now().Sub(before); d < 0 || d > 5*time.Second {
			t.Fatalf("after restart the virtual clock is %v away from before the restart", d)
		}
	})
}
