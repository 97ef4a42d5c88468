package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Setup is what the run configured on the waba before the load, so that every message can go
// end to end (accepted → sent → delivered → read, each a status webhook to the receiver).
type Setup struct {
	// WebhookURL is set with PATCH /v1/settings/application {"webhooks":{"url"},"sent_status":true}.
	WebhookURL string `json:"webhook_url,omitempty"`
	// PreviousWebhookURL is what the waba had before; with --url it is put back at the end.
	PreviousWebhookURL string `json:"previous_webhook_url,omitempty"`
	// Latency is the recipients' receipt latency: "0 (receipt_latency 0s)" for the in-process
	// waba started with zero latency, or the fixed latency given to every recipient with
	// PUT /sandbox/v1/users/{wa_id} {"latency":{"delivered","read"}} (empty: the simulated
	// network's default, delivered 0.2–1 s after sent and read 1–3 s after that).
	Latency string `json:"recipient_latency,omitempty"`
	// Windows is how many recipients were made to write first (POST
	// /sandbox/v1/users/{wa_id}/messages), which opens their 24-hour service window so that
	// free-form messages (text, media, interactive) are delivered; templates need no window.
	Windows int `json:"windows_opened"`
	// Seconds is how long the setup took (not measured).
	Seconds float64 `json:"seconds"`
	// MediaID is the image uploaded (POST /v1/media) for the mix's media messages, which then
	// send it by id.
	MediaID string `json:"media_id,omitempty"`
	// Skipped says why the setup was not done, or what part of it failed.
	Skipped string `json:"skipped,omitempty"`
}

// applicationSettings is the part of GET /v1/settings/application the bench reads:
// {"settings":{"application":{"webhooks":{"url":…},"sent_status":…}}}.
type applicationSettings struct {
	Settings struct {
		Application struct {
			Webhooks struct {
				URL string `json:"url"`
			} `json:"webhooks"`
			SentStatus bool `json:"sent_status"`
		} `json:"application"`
	} `json:"settings"`
}

// call makes one JSON request with the target's token and returns the status and body.
func call(ctx context.Context, client *http.Client, tgt *target, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, tgt.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header = http.Header{"Authorization": tgt.auth}
	if body != nil {
		req.Header["Content-Type"] = jsonContentType
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, raw, err
}

// setWebhook points the waba's webhooks at url with sent statuses on, and returns the URL it
// had before.
func setWebhook(ctx context.Context, client *http.Client, tgt *target, url string) (string, error) {
	var prev string
	if st, raw, err := call(ctx, client, tgt, http.MethodGet, "/v1/settings/application", nil); err == nil && st == http.StatusOK {
		var s applicationSettings
		if json.Unmarshal(raw, &s) == nil {
			prev = s.Settings.Application.Webhooks.URL
		}
	}
	body := map[string]any{"webhooks": map[string]any{"url": url}, "sent_status": true}
	st, raw, err := call(ctx, client, tgt, http.MethodPatch, "/v1/settings/application", body)
	if err != nil {
		return prev, fmt.Errorf("set the webhook URL: %w", err)
	}
	if st != http.StatusOK {
		return prev, fmt.Errorf("set the webhook URL: HTTP %d %s", st, bytes.TrimSpace(raw))
	}
	return prev, nil
}

// recipient is the wa_id of recipient r (1555123xxxx), as bodyGen writes it.
func recipient(r int) string {
	return "1555123" + fmt.Sprintf("%04d", r)
}

// prepareRecipients gives every recipient the fixed latency (when latency is not empty) and,
// with open, makes each send one text message to the business to open its service window. It
// runs a few requests in parallel and stops at the first failure.
func prepareRecipients(ctx context.Context, client *http.Client, tgt *target, n int, latency string, open bool) (int, error) {
	var next, opened atomic.Int64
	var firstErr error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	var wg sync.WaitGroup
	for range min(8, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed() && ctx.Err() == nil {
				r := int(next.Add(1) - 1)
				if r >= n {
					return
				}
				id := recipient(r)
				if latency != "" {
					st, raw, err := call(ctx, client, tgt, http.MethodPut, "/sandbox/v1/users/"+id,
						map[string]any{"latency": map[string]string{"delivered": latency, "read": latency}})
					if err == nil && st != http.StatusOK {
						err = fmt.Errorf("HTTP %d %s", st, bytes.TrimSpace(raw))
					}
					if err != nil {
						fail(fmt.Errorf("set the latency of %s: %w", id, err))
						return
					}
				}
				if open {
					st, raw, err := call(ctx, client, tgt, http.MethodPost, "/sandbox/v1/users/"+id+"/messages",
						map[string]any{"type": "text", "text": map[string]string{"body": "waba bench: open the window " + strconv.Itoa(r)}})
					if err == nil && st != http.StatusCreated {
						err = fmt.Errorf("HTTP %d %s", st, bytes.TrimSpace(raw))
					}
					if err != nil {
						fail(fmt.Errorf("open the service window of %s: %w", id, err))
						return
					}
					opened.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return int(opened.Load()), firstErr
}

// setup configures the waba for an end-to-end run (Options.NoSetup leaves it alone).
func setup(ctx context.Context, o *Options, client *http.Client, tgt *target, hookURL string) *Setup {
	s := &Setup{}
	if o.NoSetup {
		s.Skipped = "--setup=false: the waba was left as it was"
		return s
	}
	start := time.Now()
	defer func() { s.Seconds = round3(time.Since(start).Seconds()) }()
	prev, err := setWebhook(ctx, client, tgt, hookURL)
	if err != nil {
		s.Skipped = err.Error()
		return s
	}
	s.WebhookURL, s.PreviousWebhookURL = hookURL, prev
	perUser := ""
	switch {
	case o.zeroLatency() && o.URL == "":
		s.Latency = "0 (receipt_latency 0s)"
	case o.zeroLatency():
		s.Latency = "the server's receipt_latency (start it with receipt_latency: 0s for zero)"
	case o.Latency != "default":
		s.Latency, perUser = o.Latency, o.Latency
	}
	if o.mixHas(KindMedia) {
		if s.MediaID, err = uploadImage(ctx, client, tgt); err != nil {
			s.Skipped = "media: " + err.Error()
			return s
		}
		o.mediaID = s.MediaID
	}
	open := o.mixNeedsWindow()
	s.Windows, err = prepareRecipients(ctx, client, tgt, o.Recipients, perUser, open)
	if err != nil {
		s.Skipped = "recipients: " + err.Error()
	}
	return s
}

// mixHas reports whether the mix sends messages of kind.
func (o *Options) mixHas(kind string) bool {
	for _, e := range o.Mix {
		if e.Weight > 0 && e.Kind == kind {
			return true
		}
	}
	return false
}

// benchJPEG is a tiny JPEG (SOI, APP0 and EOI markers) for the media messages.
var benchJPEG = []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9}

// uploadImage uploads benchJPEG with POST /v1/media and returns its id.
func uploadImage(ctx context.Context, client *http.Client, tgt *target) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tgt.base+"/v1/media", bytes.NewReader(benchJPEG))
	if err != nil {
		return "", err
	}
	req.Header = http.Header{"Authorization": tgt.auth, "Content-Type": {"image/jpeg"}}
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	var out struct {
		Media []struct {
			ID string `json:"id"`
		} `json:"media"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &out) != nil || len(out.Media) != 1 || out.Media[0].ID == "" {
		return "", fmt.Errorf("POST /v1/media answered %d %s", res.StatusCode, raw)
	}
	return out.Media[0].ID, nil
}

// mixNeedsWindow reports whether the mix has free-form kinds, which need an open window.
func (o *Options) mixNeedsWindow() bool {
	for _, e := range o.Mix {
		if e.Weight > 0 && e.Kind != KindTemplate {
			return true
		}
	}
	return false
}

// restoreWebhook puts back the webhook URL a --url waba had before the run.
func restoreWebhook(client *http.Client, tgt *target, s *Setup) {
	if s == nil || s.WebhookURL == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := map[string]any{"webhooks": map[string]any{"url": s.PreviousWebhookURL}}
	call(ctx, client, tgt, http.MethodPatch, "/v1/settings/application", body)
}
