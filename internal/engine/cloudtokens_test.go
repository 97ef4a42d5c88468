package engine

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

func TestCloudTokens(t *testing.T) {
	st := settingsStore(t)
	clk := clock.NewVirtual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := New(Options{Store: st, Clock: clk, IDs: wa.NewIDs(1), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Business: settingsBusiness})
	ctx := t.Context()

	for name, perms := range map[string][]string{"empty": nil, "unknown": {"ads_management"}, "twice": {PermMessaging, PermMessaging}} {
		if _, _, err := e.CreateCloudToken(ctx, perms, 0); err == nil {
			t.Errorf("%s: CreateCloudToken(%v) succeeded", name, perms)
		} else if we, ok := waerr.As(err); !ok || we.Cond != waerr.InvalidParam {
			t.Errorf("%s: err %v, want req.invalid_value", name, err)
		}
	}

	secret, tok, err := e.CreateCloudToken(ctx, []string{PermMessaging}, time.Hour)
	if err != nil || !strings.HasPrefix(secret, "EAAG") || len(tok.ID) != 16 || tok.ExpiresAt == nil || !tok.Has(PermMessaging) || tok.Has(PermManagement) {
		t.Fatalf("CreateCloudToken = %q %+v %v", secret, tok, err)
	}
	forever, _, err := e.CreateCloudToken(ctx, AllPermissions, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.CloudToken(ctx, secret)
	if err != nil || got.ID != tok.ID {
		t.Fatalf("CloudToken = %+v %v", got, err)
	}
	if _, err := e.CloudToken(ctx, "EAAGnope"); !isCond(err, waerr.AuthInvalid) {
		t.Fatalf("unknown token: %v", err)
	}
	list, err := e.CloudTokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != tok.ID {
		t.Fatalf("CloudTokens = %+v %v", list, err)
	}
	for _, k := range list {
		if strings.Contains(k.ID, secret) {
			t.Fatal("a listed token shows its secret")
		}
	}

	// Expiry is on the virtual clock: 190/463 once an hour has passed, the other token lives on.
	if err := clk.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CloudToken(ctx, secret); !isCond(err, waerr.AuthExpired) || !strings.Contains(err.Error(), "Session has expired") {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := e.CloudToken(ctx, forever); err != nil {
		t.Fatalf("token without expiry: %v", err)
	}

	if err := e.RevokeCloudToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.RevokeCloudToken(ctx, tok.ID); !isCond(err, waerr.NotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := e.CloudToken(ctx, secret); !isCond(err, waerr.AuthInvalid) {
		t.Fatalf("revoked token: %v", err)
	}
}

func isCond(err error, c *waerr.Condition) bool {
	e, ok := waerr.As(err)
	return ok && e.Cond == c
}
