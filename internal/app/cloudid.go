package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/store"
)

// cloudNumberKey is the store setting that keeps the Cloud identity of the business number, so
// generated values survive restarts.
const cloudNumberKey = "cloud.number"

type cloudNumber struct {
	PhoneNumberID string `json:"phone_number_id"`
	WABAID        string `json:"waba_id"`
	AccessToken   string `json:"access_token"`
	AppSecret     string `json:"app_secret,omitempty"`
	VerifyToken   string `json:"verify_token,omitempty"`
}

// cloudIdentity fills cfg's phone_number_id, waba_id and access_token: configured values win,
// then the stored ones, then fresh random ones (15-digit ids like Meta's, an "EAAG…" token).
// The result is stored back.
func cloudIdentity(ctx context.Context, st store.Store, cfg config.Config) (config.Config, error) {
	var stored cloudNumber
	raw, err := st.GetSetting(ctx, cloudNumberKey)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &stored); err != nil {
			return cfg, fmt.Errorf("setting %s: %w", cloudNumberKey, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return cfg, fmt.Errorf("read %s: %w", cloudNumberKey, err)
	}
	cur := cloudNumber{PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID, AccessToken: cfg.AccessToken,
		AppSecret: cfg.AppSecret, VerifyToken: cfg.VerifyToken}
	pick := func(dst *string, old string, gen func() (string, error)) error {
		if *dst != "" {
			return nil
		}
		if old != "" {
			*dst = old
			return nil
		}
		v, err := gen()
		*dst = v
		return err
	}
	if err := pick(&cur.PhoneNumberID, stored.PhoneNumberID, randomGraphID); err != nil {
		return cfg, err
	}
	if err := pick(&cur.WABAID, stored.WABAID, randomGraphID); err != nil {
		return cfg, err
	}
	for cur.WABAID == cur.PhoneNumberID {
		if cur.WABAID, err = randomGraphID(); err != nil {
			return cfg, err
		}
	}
	if err := pick(&cur.AccessToken, stored.AccessToken, randomToken); err != nil {
		return cfg, err
	}
	if err := pick(&cur.AppSecret, stored.AppSecret, randomHex); err != nil {
		return cfg, err
	}
	if err := pick(&cur.VerifyToken, stored.VerifyToken, randomHex); err != nil {
		return cfg, err
	}
	if cur != stored {
		b, _ := json.Marshal(cur)
		if err := st.PutSetting(ctx, cloudNumberKey, b); err != nil {
			return cfg, fmt.Errorf("store %s: %w", cloudNumberKey, err)
		}
	}
	cfg.PhoneNumberID, cfg.WABAID, cfg.AccessToken = cur.PhoneNumberID, cur.WABAID, cur.AccessToken
	cfg.AppSecret, cfg.VerifyToken = cur.AppSecret, cur.VerifyToken
	return cfg, nil
}

// initRegistry makes sure the engine's number registry holds the default business number with
// the configured Cloud identity, and the app with its secret. Configured values win over stored
// ones; numbers added through the sandbox are left alone.
func initRegistry(ctx context.Context, eng *engine.Engine, cfg config.Config) error {
	_, err := eng.UpdateRegistry(ctx, func(r *engine.Registry) error {
		if r.App.ID == "" {
			id, err := randomGraphID()
			if err != nil {
				return err
			}
			r.App.ID = id
		}
		r.App.AppSecret, r.App.VerifyToken = cfg.AppSecret, cfg.VerifyToken
		if cfg.CallbackURL != "" {
			r.App.CallbackURL = cfg.CallbackURL
		}
		i := slices.IndexFunc(r.Numbers, func(n engine.Number) bool { return n.Phone == cfg.PhoneNumber })
		if i < 0 {
			// The phone-number id may have belonged to an earlier default number (the phone
			// number was changed in the configuration): that entry becomes this one.
			i = slices.IndexFunc(r.Numbers, func(n engine.Number) bool { return n.PhoneNumberID == cfg.PhoneNumberID })
		}
		if i < 0 {
			r.Numbers = append([]engine.Number{{WebhookDialect: engine.DialectOnPrem, VerifiedName: "waba sandbox"}}, r.Numbers...)
			i = 0
		}
		n := &r.Numbers[i]
		n.Phone, n.PhoneNumberID, n.WABAID = cfg.PhoneNumber, cfg.PhoneNumberID, cfg.WABAID
		if cfg.WebhookDialect != "" {
			n.WebhookDialect = cfg.WebhookDialect
		}
		return nil
	})
	return err
}

func randomHex() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func randomGraphID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9e14))
	if err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return n.Add(n, big.NewInt(1e14)).String(), nil // 15 digits
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return "EAAG" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}
