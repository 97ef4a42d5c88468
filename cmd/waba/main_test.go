package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCmd(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "waba ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

// TestInvalidConfigExits2 lists every problem and exits 2 without starting anything.
func TestInvalidConfigExits2(t *testing.T) {
	code, _, errOut := runCmd(t, map[string]string{"WABA_SHARDS": "3"}, "serve", "--addr", "nowhere", "--log-level", "loud")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{`addr "nowhere"`, "shards 3", `log_level "loud"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, errOut)
		}
	}
}

func TestMigrateAndHealthcheckWithoutServer(t *testing.T) {
	data := t.TempDir()
	if code, out, errOut := runCmd(t, nil, "migrate", "--data", data); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "waba.db")); err != nil {
		t.Fatalf("migrate did not create the database: %v", err)
	}
	port := freePort(t)
	if code, _, _ := runCmd(t, map[string]string{"WABA_ADDR": "127.0.0.1:" + port}, "healthcheck"); code != 1 {
		t.Fatalf("healthcheck with nothing listening: exit %d, want 1", code)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestBinaryStartsAndStopsOnSIGTERM builds the real binary, starts it the way a newcomer does
// (no flags but an address and a data folder), waits for `waba healthcheck` to pass, and checks
// that SIGTERM ends it cleanly with exit 0.
func TestBinaryStartsAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "waba")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := "127.0.0.1:" + freePort(t)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WABA_ADDR="+addr, "WABA_DATA="+filepath.Join(dir, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	deadline := time.Now().Add(20 * time.Second)
	for {
		hc := exec.Command(bin, "healthcheck")
		hc.Env = append(os.Environ(), "WABA_ADDR="+addr)
		if hc.Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck never passed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop within 20 s of SIGTERM")
	}
	banner := stdout.String()
	for _, want := range []string{"http://" + addr + "/v1/", "Business number  +15550001111", "admin:secret", "new_password"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "waba.db")); err != nil {
		t.Fatalf("no database in the data folder: %v", err)
	}
}
