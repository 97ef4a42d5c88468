package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwaba/waba/internal/config"
)

// TestSeed004Conformance posts every request example of seed 004 (as printed, and repaired
// where the print is not valid JSON or breaks a limit; see testdata/seed004/README.md) to a real
// server, on both stores, and checks the exact status and error code of cases.json.
func TestSeed004Conformance(t *testing.T) {
	dir := filepath.Join("..", "dialect", "onprem", "testdata", "seed004")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		File   string `json:"file"`
		Status int    `json:"status"`
		Code   int    `json:"code"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases in the manifest", len(cases))
	}
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		base := start(t, cfg).URL()
		tok := login(t, base, "admin", testAdminPassword)
		for _, c := range cases {
			t.Run(c.File, func(t *testing.T) {
				body, err := os.ReadFile(filepath.Join(dir, c.File))
				if err != nil {
					t.Fatal(err)
				}
				r := do(t, base, request{method: "POST", path: "/v1/messages", token: tok, body: string(body)})
				if c.Status == 201 {
					sent(t, r)
					return
				}
				wantCode(t, r, c.Status, c.Code)
			})
		}
	})
}
