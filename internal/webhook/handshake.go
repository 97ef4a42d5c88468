package webhook

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Handshake plays Meta's side of the Cloud verification handshake (shared/reference/cloud-api.md
// §7.1): it GETs callbackURL with hub.mode=subscribe, a random numeric hub.challenge and
// hub.verify_token, and succeeds only when the receiver answers 200 with exactly the challenge
// as its body. Meta sends it whenever a callback URL or verify token is set, before answering
// success; the error says what the receiver did instead.
func Handshake(ctx context.Context, client *http.Client, callbackURL, verifyToken string) error {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callback URL %q is not an http(s) URL", callbackURL)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1e9))
	if err != nil {
		return err
	}
	challenge := fmt.Sprint(n.Int64() + 1e9) // ten digits, like Meta's
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("verification GET to %s failed: %w", redact(u), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verification GET to %s answered HTTP %d after %v; it must answer 200 with the hub.challenge value", redact(u), resp.StatusCode, time.Since(start).Round(time.Millisecond))
	}
	if got := strings.TrimSpace(string(body)); got != challenge {
		return fmt.Errorf("verification GET to %s answered %q; it must echo the hub.challenge value %q", redact(u), truncate(got, 64), challenge)
	}
	return nil
}

// redact drops the query (it holds the verify token) from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
