package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// On-Prem user rules (shared/reference/onprem-api.md §2.4).
const (
	AdminUser        = "admin"
	defaultAdminPass = "secret"
	// TokenLifetime is the On-Prem token lifetime: 7 days (`token.lifetime: 604800`).
	TokenLifetime = 7 * 24 * time.Hour
	// Bad-login limiter: at most 30 failed logins per IP per hour, then 1015/429.
	maxBadLogins   = 30
	badLoginWindow = time.Hour
	// User create/update limiter: 256 per IP per hour.
	maxUserOps = 256
	bcryptCost = 10
	// tokenCacheTTL bounds how long a validated token is trusted without asking the store, so
	// a token revoked on another node stops working within this time (on this node at once).
	tokenCacheTTL = 10 * time.Second
)

// usernameRE: 4–32 URL-safe characters (§2.4).
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{4,32}$`)

// Credentials are measured against the wall clock, not the sandbox's virtual clock: moving
// simulated time forward by a month to test the 30-day hold must not log the tester out.
type auth struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	cache   map[[32]byte]cachedToken
	limiter map[string][]time.Time // key: kind+ip → recent events
}

type cachedToken struct {
	user    store.User
	expires time.Time // min(token expiry, cache TTL)
}

func newAuth(st store.Store, log *slog.Logger) *auth {
	return &auth{st: st, log: log, now: time.Now, cache: map[[32]byte]cachedToken{}, limiter: map[string][]time.Time{}}
}

// EnsureAdmin creates the built-in admin (admin/secret, must change on first login) if it does
// not exist. With a preset password (WABA_ADMIN_PASSWORD) the admin gets that password and no
// forced change, unless someone already changed it through the API.
func (e *Engine) EnsureAdmin(ctx context.Context, preset string) error {
	a := e.auth
	u, err := a.st.GetUser(ctx, AdminUser)
	switch {
	case errors.Is(err, store.ErrNotFound):
		pw, must := defaultAdminPass, true
		if preset != "" {
			pw, must = preset, false
		}
		hash, err := hashPassword(pw)
		if err != nil {
			return err
		}
		now := a.now().UTC()
		err = a.st.CreateUser(ctx, store.User{Username: AdminUser, PasswordHash: hash, Role: store.RoleAdmin,
			MustChangePassword: must, CreatedAt: now, UpdatedAt: now})
		if errors.Is(err, store.ErrExists) {
			return nil // another node created it first
		}
		return err
	case err != nil:
		return fmt.Errorf("read admin user: %w", err)
	case preset != "" && u.MustChangePassword:
		hash, err := hashPassword(preset)
		if err != nil {
			return err
		}
		return a.st.UpdatePassword(ctx, AdminUser, hash, false, a.now().UTC())
	}
	return nil
}

// LoginResult is what a successful login returns.
type LoginResult struct {
	Token   string
	Expires time.Time
}

// Login checks Basic credentials from ip and returns a new token. newPassword, when not empty,
// replaces the password first; the admin's first login must carry it (1024).
func (e *Engine) Login(ctx context.Context, ip, username, password, newPassword string) (LoginResult, error) {
	a := e.auth
	if a.limited("login", ip, maxBadLogins, false) {
		return LoginResult{}, waerr.New(waerr.TooManyRequests, "Rate limiting exceeded on bad login attempts")
	}
	u, err := a.st.GetUser(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if err != nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		if err != nil {
			// Spend the same time as a real comparison so usernames cannot be probed by timing.
			_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		}
		a.limited("login", ip, maxBadLogins, true)
		return LoginResult{}, waerr.New(waerr.AuthInvalid, "Missing or invalid authentication credentials")
	}
	if newPassword != "" {
		if why := config.PasswordProblem(newPassword); why != "" {
			return LoginResult{}, waerr.New(waerr.InvalidParam, "Parameter 'new_password' is not valid: %s", why)
		}
		hash, err := hashPassword(newPassword)
		if err != nil {
			return LoginResult{}, err
		}
		if err := a.st.UpdatePassword(ctx, u.Username, hash, false, a.now().UTC()); err != nil {
			return LoginResult{}, fmt.Errorf("change password: %w", err)
		}
		u.MustChangePassword = false
	}
	if u.MustChangePassword {
		// §2.4: the first admin login must include new_password → 1024, HTTP 401.
		return LoginResult{}, waerr.New(waerr.PasswordChangeRequired, "Password must be changed")
	}
	tok, hash, err := newToken(u.Username, a.now())
	if err != nil {
		return LoginResult{}, err
	}
	now := a.now().UTC()
	t := store.Token{Hash: hash[:], Username: u.Username, CreatedAt: now, ExpiresAt: now.Add(TokenLifetime).Truncate(time.Second)}
	if err := a.st.CreateToken(ctx, t); err != nil {
		return LoginResult{}, fmt.Errorf("store token: %w", err)
	}
	return LoginResult{Token: tok, Expires: t.ExpiresAt}, nil
}

// Authenticate returns the user a bearer token belongs to, or AuthInvalid/AuthExpired.
func (e *Engine) Authenticate(ctx context.Context, token string) (store.User, error) {
	a := e.auth
	if token == "" {
		return store.User{}, waerr.New(waerr.AuthMissing, "Missing or invalid authentication credentials")
	}
	h := sha256.Sum256([]byte(token))
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[h]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.user, nil
	}
	t, err := a.st.GetToken(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, waerr.New(waerr.AuthInvalid, "Missing or invalid authentication credentials")
	}
	if err != nil {
		return store.User{}, fmt.Errorf("read token: %w", err)
	}
	if !now.Before(t.ExpiresAt) {
		return store.User{}, waerr.New(waerr.AuthExpired, "Missing or invalid authentication credentials: the token expired; log in again")
	}
	u, err := a.st.GetUser(ctx, t.Username)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, waerr.New(waerr.AuthInvalid, "Missing or invalid authentication credentials")
	}
	if err != nil {
		return store.User{}, fmt.Errorf("read user: %w", err)
	}
	exp := now.Add(tokenCacheTTL)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt
	}
	a.mu.Lock()
	if len(a.cache) > 100000 { // bound memory; the store remains the truth
		clear(a.cache)
	}
	a.cache[h] = cachedToken{user: u, expires: exp}
	a.mu.Unlock()
	return u, nil
}

// Logout revokes one token.
func (e *Engine) Logout(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	e.auth.forget(func(k [32]byte, _ cachedToken) bool { return k == h })
	return e.auth.st.DeleteToken(ctx, h[:])
}

func (a *auth) forget(match func([32]byte, cachedToken) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range a.cache {
		if match(k, v) {
			delete(a.cache, k)
		}
	}
}

// CreateUser adds a ROLE_USER account (admin only; the caller checks the role).
func (e *Engine) CreateUser(ctx context.Context, ip, username, password string) error {
	a := e.auth
	if a.limited("userop", ip, maxUserOps, true) {
		return waerr.New(waerr.TooManyRequests, "Rate limiting exceeded on user create or update")
	}
	if username == "" {
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'username'")
	}
	if password == "" {
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'password'")
	}
	if !usernameRE.MatchString(username) || username == "_apiuser" {
		return waerr.New(waerr.InvalidParam, "Parameter 'username' has invalid value '%s': use 4 to 32 letters, digits or . _ ~ -", username)
	}
	if why := config.PasswordProblem(password); why != "" {
		return waerr.New(waerr.InvalidParam, "Parameter 'password' is not valid: %s", why)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	now := a.now().UTC()
	err = a.st.CreateUser(ctx, store.User{Username: username, PasswordHash: hash, Role: store.RoleUser, CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, store.ErrExists) {
		return waerr.New(waerr.AlreadyExists, "User '%s' already exists", username)
	}
	return err
}

// GetUser returns a user or NotFound.
func (e *Engine) GetUser(ctx context.Context, username string) (store.User, error) {
	u, err := e.auth.st.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return u, waerr.New(waerr.NotFound, "User '%s' not found", username)
	}
	return u, err
}

// SetPassword changes a user's password. Existing tokens stay valid until they expire or are
// logged out, as the On-Prem WebApp did not document revoking them.
func (e *Engine) SetPassword(ctx context.Context, ip, username, password string) error {
	a := e.auth
	if a.limited("userop", ip, maxUserOps, true) {
		return waerr.New(waerr.TooManyRequests, "Rate limiting exceeded on user create or update")
	}
	if password == "" {
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'password'")
	}
	if why := config.PasswordProblem(password); why != "" {
		return waerr.New(waerr.InvalidParam, "Parameter 'password' is not valid: %s", why)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	err = a.st.UpdatePassword(ctx, username, hash, false, a.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return waerr.New(waerr.NotFound, "User '%s' not found", username)
	}
	return err
}

// DeleteUser removes a user and revokes their tokens. The built-in admin cannot be deleted.
func (e *Engine) DeleteUser(ctx context.Context, username string) error {
	if username == AdminUser {
		return waerr.New(waerr.Forbidden, "The built-in admin user cannot be deleted")
	}
	err := e.auth.st.DeleteUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return waerr.New(waerr.NotFound, "User '%s' not found", username)
	}
	if err != nil {
		return err
	}
	e.auth.forget(func(_ [32]byte, c cachedToken) bool { return c.user.Username == username })
	return nil
}

// limited reports whether ip has reached max events of kind in the last hour; with record it
// also counts one more event.
func (a *auth) limited(kind, ip string, max int, record bool) bool {
	now := a.now()
	key := kind + "|" + ip
	a.mu.Lock()
	defer a.mu.Unlock()
	ev := a.limiter[key]
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= badLoginWindow {
		i++
	}
	ev = ev[i:]
	over := len(ev) >= max
	if record && !over {
		ev = append(ev, now)
	}
	if len(ev) == 0 {
		delete(a.limiter, key)
	} else {
		a.limiter[key] = ev
	}
	return over
}

func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the username does not exist; made on first use so that
// start-up does not pay for it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("waba-timing-equaliser"), bcryptCost)
	return h
})

// newToken makes a token shaped like the On-Prem WebApp's JWT (header.payload.signature,
// shared/reference/onprem-api.md §2.4), so clients that log or inspect it see the familiar
// form. Its third part is 32 random bytes; the server checks a token by looking up its SHA-256,
// never by trusting its contents.
func newToken(username string, now time.Time) (string, [32]byte, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("token: %w", err)
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"user": username, "iat": now.Unix(), "exp": now.Add(TokenLifetime).Unix(), "wa_expiry": now.Add(TokenLifetime).Unix()})
	tok := header + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(secret[:])
	return tok, sha256.Sum256([]byte(tok)), nil
}
