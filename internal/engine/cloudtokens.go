package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// Cloud API permissions a token carries (shared/reference/cloud-api.md §1).
const (
	// PermMessaging allows sending, marking read and media.
	PermMessaging = "whatsapp_business_messaging"
	// PermManagement allows everything else: numbers, WABAs, subscribed_apps, templates.
	PermManagement = "whatsapp_business_management"
)

// AllPermissions is what the configured access token carries.
var AllPermissions = []string{PermManagement, PermMessaging}

// cloudTokenPrefix keys one stored setting per sandbox-made Cloud token:
// "cloud.token.<hex SHA-256 of the secret>". Settings rather than the store's tokens table,
// whose rows belong to On-Prem users: no migration, and both drivers already store settings.
const cloudTokenPrefix = "cloud.token."

// CloudToken is a Cloud API access token as stored: never its secret, only the hash in its key.
type CloudToken struct {
	// ID names the token in the sandbox API: the first 16 hex digits of its SHA-256.
	ID          string     `json:"id"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"` // virtual clock; nil: never
}

// Has reports whether the token carries perm.
func (t CloudToken) Has(perm string) bool { return slices.Contains(t.Permissions, perm) }

// checkPermissions refuses an empty list, unknown names and repeats.
func checkPermissions(perms []string) error {
	if len(perms) == 0 {
		return waerr.New(waerr.InvalidParam, "permissions must name at least one of %s, %s", PermMessaging, PermManagement)
	}
	for i, p := range perms {
		if p != PermMessaging && p != PermManagement {
			return waerr.New(waerr.InvalidParam, "permission '%s' is unknown; use %s or %s", p, PermMessaging, PermManagement)
		}
		if slices.Contains(perms[:i], p) {
			return waerr.New(waerr.InvalidParam, "permission '%s' is listed twice", p)
		}
	}
	return nil
}

// CreateCloudToken makes a Cloud access token with perms that expires expiresIn after now on
// the virtual clock (0: never). The secret is returned once; only its SHA-256 is stored.
func (e *Engine) CreateCloudToken(ctx context.Context, perms []string, expiresIn time.Duration) (string, CloudToken, error) {
	if err := checkPermissions(perms); err != nil {
		return "", CloudToken{}, err
	}
	if expiresIn < 0 {
		return "", CloudToken{}, waerr.New(waerr.InvalidParam, "expires_in must be 0 (never) or a positive number of seconds")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", CloudToken{}, fmt.Errorf("random token: %w", err)
	}
	secret := "EAAG" + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	key := hex.EncodeToString(sum[:])
	now := e.clk.Now().UTC()
	t := CloudToken{ID: key[:16], Permissions: slices.Clone(perms), CreatedAt: now}
	sort.Strings(t.Permissions)
	if expiresIn > 0 {
		at := now.Add(expiresIn)
		t.ExpiresAt = &at
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return "", CloudToken{}, err
	}
	if err := e.st.PutSetting(ctx, cloudTokenPrefix+key, raw); err != nil {
		return "", CloudToken{}, fmt.Errorf("store cloud token: %w", err)
	}
	return secret, t, nil
}

// CloudTokens lists the sandbox-made Cloud tokens, oldest first, without secrets.
func (e *Engine) CloudTokens(ctx context.Context) ([]CloudToken, error) {
	all, err := e.st.ListSettings(ctx, cloudTokenPrefix)
	if err != nil {
		return nil, fmt.Errorf("list cloud tokens: %w", err)
	}
	out := make([]CloudToken, 0, len(all))
	for k, raw := range all {
		var t CloudToken
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("setting %s: %w", k, err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RevokeCloudToken deletes the token with this id; an unknown id is resource.not_found.
func (e *Engine) RevokeCloudToken(ctx context.Context, id string) error {
	all, err := e.st.ListSettings(ctx, cloudTokenPrefix)
	if err != nil {
		return fmt.Errorf("list cloud tokens: %w", err)
	}
	for k := range all {
		if len(id) == 16 && strings.HasPrefix(k, cloudTokenPrefix+id) {
			if err := e.st.DeleteSetting(ctx, k); err != nil {
				return fmt.Errorf("revoke cloud token: %w", err)
			}
			return nil
		}
	}
	return waerr.New(waerr.NotFound, "No Cloud token has id '%s'", id)
}

// CloudToken returns the stored token whose secret is secret: auth.invalid when there is none
// (unknown or revoked), auth.expired (190/463) when the virtual clock is past its expiry. Both
// carry Graph's free-text messages (errors.md §2.1).
func (e *Engine) CloudToken(ctx context.Context, secret string) (CloudToken, error) {
	sum := sha256.Sum256([]byte(secret))
	raw, err := e.st.GetSetting(ctx, cloudTokenPrefix+hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return CloudToken{}, waerr.New(waerr.AuthInvalid, "Invalid OAuth access token - Cannot parse access token")
	}
	if err != nil {
		return CloudToken{}, fmt.Errorf("read cloud token: %w", err)
	}
	var t CloudToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return CloudToken{}, fmt.Errorf("cloud token: %w", err)
	}
	if now := e.clk.Now(); t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return CloudToken{}, waerr.New(waerr.AuthExpired, "Error validating access token: Session has expired on %s. The current time is %s.",
			t.ExpiresAt.UTC().Format("Monday, 02-Jan-06 15:04:05 MST"), now.UTC().Format("Monday, 02-Jan-06 15:04:05 MST"))
	}
	return t, nil
}

// NewGraphID returns a random 15-digit Graph object id like Meta's phone-number and WABA ids.
func NewGraphID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9e14))
	if err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return n.Add(n, big.NewInt(1e14)).String(), nil
}
