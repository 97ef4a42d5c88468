package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load() = %+v, want defaults %+v", c, want)
	}
	if c.Addr != "127.0.0.1:9090" || c.Data != "./waba-data" || c.IsPostgres() {
		t.Fatalf("unexpected defaults %+v", c)
	}
	if got := c.SQLitePath(); got != filepath.Join("./waba-data", "waba.db") && got != "./waba-data/waba.db" {
		t.Fatalf("SQLitePath = %q", got)
	}
}

// TestPrecedence checks defaults < file < environment < flags, one setting per layer.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "waba.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:7001\ndata: /from/file\nshards: 4\nlog_level: warn\nphone_number: \"+1 555 000 2222\"\n"), 0o600)
	c, err := Load([]string{"--config", file, "--addr", "127.0.0.1:7003"},
		env(map[string]string{"WABA_ADDR": "127.0.0.1:7002", "WABA_DATA": "/from/env", "WABA_DB": "postgres://u:pw@h/db"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7003" {
		t.Errorf("flag should win: addr = %q", c.Addr)
	}
	if c.Data != "/from/env" {
		t.Errorf("env should beat file: data = %q", c.Data)
	}
	if c.Shards != 4 || c.LogLevel != "warn" {
		t.Errorf("file should beat defaults: shards=%d log_level=%q", c.Shards, c.LogLevel)
	}
	if c.PhoneNumber != "15550002222" {
		t.Errorf("phone number should be normalised: %q", c.PhoneNumber)
	}
	if !c.IsPostgres() || c.Redacted() != "postgres://…@h/db" {
		t.Errorf("db: postgres=%v redacted=%q", c.IsPostgres(), c.Redacted())
	}
}

// TestEveryProblemListed: an invalid configuration reports all of its problems at once.
func TestEveryProblemListed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte("shards: 3\nlog_level: loud\n"), 0o600)
	_, err := Load([]string{"--config", file, "--addr", "nonsense", "--phone-number", "abc"},
		env(map[string]string{"WABA_DB": "mysql://x", "WABA_ADMIN_PASSWORD": "short", "WABA_COMMIT_BATCH": "many"}), io.Discard)
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("want Problems, got %v", err)
	}
	wantParts := []string{`addr "nonsense"`, `db "mysql://x"`, `phone_number "abc"`, "shards 3", `log_level "loud"`,
		"WABA_ADMIN_PASSWORD: password must have 8 to 64 characters (has 5)", `WABA_COMMIT_BATCH "many"`}
	if len(p) != len(wantParts) {
		t.Fatalf("got %d problems, want %d:\n%s", len(p), len(wantParts), p.Error())
	}
	for _, w := range wantParts {
		if !strings.Contains(p.Error(), w) {
			t.Errorf("problems do not mention %q:\n%s", w, p.Error())
		}
	}
}

func TestUnknownFileKeyIsAProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(file, []byte("adress: 127.0.0.1:1\n"), 0o600)
	_, err := Load([]string{"--config", file}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "adress") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestPasswordProblem(t *testing.T) {
	cases := []struct {
		pw, want string
	}{
		{"N3w-Passw0rd!", ""},
		{"Aa1!aaaa", ""},
		{"Aa1!aaa", "password must have 8 to 64 characters (has 7)"},
		{"aaaaaaa1!", "password must have an upper-case letter"},
		{"AAAAAAA1!", "password must have a lower-case letter"},
		{"Aaaaaaaa!", "password must have a digit"},
		{"Aaaaaaaa1", "password must have a special character from " + passwordSpecials},
		{strings.Repeat("Aa1!", 16) + "x", "password must have 8 to 64 characters (has 65)"},
	}
	for _, c := range cases {
		if got := PasswordProblem(c.pw); got != c.want {
			t.Errorf("PasswordProblem(%q) = %q, want %q", c.pw, got, c.want)
		}
	}
}

func TestUnknownUsers(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"WABA_UNKNOWN_USERS": "not_on_whatsapp"}), io.Discard)
	if err != nil || c.UnknownUsers != "not_on_whatsapp" {
		t.Fatalf("Load: %+v %v", c.UnknownUsers, err)
	}
	_, err = Load(nil, env(map[string]string{"WABA_UNKNOWN_USERS": "ghosts"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown_users "ghosts": must be healthy or not_on_whatsapp`) {
		t.Fatalf("want the problem listed, got %v", err)
	}
}

func TestReceiptLatency(t *testing.T) {
	file := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(file, []byte("receipt_latency: 250ms\n"), 0o600)
	c, err := Load([]string{"--config", file}, env(nil), io.Discard)
	if err != nil || c.ReceiptLatency == nil || *c.ReceiptLatency != 250*time.Millisecond {
		t.Fatalf("from file: %v %v", c.ReceiptLatency, err)
	}
	c, err = Load([]string{"--config", file}, env(map[string]string{"WABA_RECEIPT_LATENCY": "0s"}), io.Discard)
	if err != nil || c.ReceiptLatency == nil || *c.ReceiptLatency != 0 {
		t.Fatalf("env should beat the file: %v %v", c.ReceiptLatency, err)
	}
	if c, _ := Load(nil, env(nil), io.Discard); c.ReceiptLatency != nil {
		t.Fatalf("default must be unset, got %v", *c.ReceiptLatency)
	}
	_, err = Load(nil, env(map[string]string{"WABA_RECEIPT_LATENCY": "-1s"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "receipt_latency -1s: must not be negative") {
		t.Fatalf("negative: %v", err)
	}
}

func TestCloudIdentity(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"WABA_PHONE_NUMBER_ID": "106540352242922", "WABA_WABA_ID": "102290129340398",
		"WABA_ACCESS_TOKEN": "EAAG-test-token-0123456789"}), io.Discard)
	if err != nil || c.PhoneNumberID != "106540352242922" || c.WABAID != "102290129340398" || c.AccessToken != "EAAG-test-token-0123456789" {
		t.Fatalf("Load: %+v %v", c, err)
	}
	_, err = Load(nil, env(map[string]string{"WABA_PHONE_NUMBER_ID": "12a", "WABA_ACCESS_TOKEN": "short"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `phone_number_id "12a": want up to 20 digits`) ||
		!strings.Contains(err.Error(), "access_token: want at least 16 characters") || strings.Contains(err.Error(), "short") {
		t.Fatalf("want both problems, without the token, got %v", err)
	}
}

func TestPublicURL(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"WABA_PUBLIC_URL": "https://waba.example.com"}), io.Discard)
	if err != nil || c.PublicURL != "https://waba.example.com" {
		t.Fatalf("Load: %q %v", c.PublicURL, err)
	}
	for _, bad := range []string{"waba.example.com", "ftp://waba.example.com", "https://waba.example.com/?a=1", "https://u:p@waba.example.com"} {
		_, err = Load(nil, env(map[string]string{"WABA_PUBLIC_URL": bad}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "public_url: want an http:// or https:// URL") || strings.Contains(err.Error(), "u:p") {
			t.Fatalf("%q: want the problem listed, got %v", bad, err)
		}
	}
}
