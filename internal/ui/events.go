package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/openwaba/waba/internal/store"
)

// Stats is the snapshot the events stream pushes: counts, rates and a version that changes
// whenever a message, webhook or attempt does (the page refreshes what it shows then).
type Stats struct {
	Now       time.Time `json:"now"`
	Business  string    `json:"business"`
	In        int64     `json:"in"`
	Out       int64     `json:"out"`
	RateIn    float64   `json:"rate_in"`  // inbound messages per second (virtual-clock-independent: wall time)
	RateOut   float64   `json:"rate_out"` // outbound messages per second
	Pending   int64     `json:"webhooks_pending"`
	Delivered int64     `json:"webhooks_delivered"`
	// Over the newest (up to 200) attempts: the share answered 200, and their mean latency.
	Attempts    int     `json:"attempts"`
	SuccessRate float64 `json:"webhook_success"` // 0..1; -1 when no attempt yet
	LatencyMS   float64 `json:"webhook_latency_ms"`
	Version     string  `json:"version"`
}

// snapshot reads the counts and the change fingerprint from the store. withAttempts also
// reads the newest attempts (heavier: done less often).
func (u *UI) snapshot(ctx context.Context, prev *Stats, withAttempts bool) (Stats, error) {
	st := u.o.Store
	s := Stats{Now: u.o.Clock.Now().UTC(), Business: u.o.Business, SuccessRate: -1}
	var err error
	if s.In, err = st.CountMessages(ctx, store.Inbound); err != nil {
		return s, err
	}
	if s.Out, err = st.CountMessages(ctx, store.Outbound); err != nil {
		return s, err
	}
	if s.Pending, err = st.CountWebhooks(ctx, store.WebhookPending); err != nil {
		return s, err
	}
	if s.Delivered, err = st.CountWebhooks(ctx, store.WebhookDelivered); err != nil {
		return s, err
	}
	recent, err := st.ListMessages(ctx, "", 100)
	if err != nil {
		return s, err
	}
	var newest time.Time
	var sum int64
	for _, m := range recent {
		if m.UpdatedAt.After(newest) {
			newest = m.UpdatedAt
		}
		sum += m.ID % 1000003
	}
	var lastAttempt int64
	if withAttempts || prev == nil {
		as, err := st.ListAttempts(ctx, 0, 200)
		if err != nil {
			return s, err
		}
		ok, lat := 0, int64(0)
		for _, a := range as {
			if a.Status == http.StatusOK {
				ok++
			}
			lat += a.LatencyMS
		}
		s.Attempts = len(as)
		if len(as) > 0 {
			s.SuccessRate = float64(ok) / float64(len(as))
			s.LatencyMS = float64(lat) / float64(len(as))
			lastAttempt = as[0].ID
		}
	} else {
		s.Attempts, s.SuccessRate, s.LatencyMS = prev.Attempts, prev.SuccessRate, prev.LatencyMS
		if as, err := st.ListAttempts(ctx, 0, 1); err == nil && len(as) > 0 {
			lastAttempt = as[0].ID
		}
	}
	s.Version = fmt.Sprintf("%d.%d.%d.%d.%d.%d.%d", s.In, s.Out, s.Pending, s.Delivered, lastAttempt, newest.UnixNano(), sum)
	return s, nil
}

func (u *UI) statsJSON(w http.ResponseWriter, r *http.Request) {
	s, err := u.snapshot(r.Context(), nil, true)
	if err != nil {
		u.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// events streams `stats` events (server-sent events) every poll interval. The admin token
// comes as ?token= (EventSource cannot send an Authorization header) or as the header.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = r.Header.Get("Authorization")
		if len(tok) > 7 && tok[:7] == "Bearer " {
			tok = tok[7:]
		}
	}
	if !u.check(w, r, tok) {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	// The stream outlives the server's write timeout; clear it for this response.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()

	type sample struct {
		at      time.Time
		in, out int64
	}
	var window []sample // the last ~5 s of counts, for the rates
	var prev *Stats
	tick := time.NewTicker(u.o.Poll)
	defer tick.Stop()
	recheck := time.Now().Add(time.Minute)
	for n := 0; ; n++ {
		if time.Now().After(recheck) { // a revoked or expired token ends the stream
			if _, err := u.o.Auth.Authenticate(r.Context(), tok); err != nil {
				return
			}
			recheck = time.Now().Add(time.Minute)
		}
		s, err := u.snapshot(r.Context(), prev, n%4 == 0)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			u.o.Logger.Warn("ui events: store read failed", "err", err)
		} else {
			now := time.Now()
			window = append(window, sample{now, s.In, s.Out})
			for len(window) > 2 && now.Sub(window[0].at) > 5*time.Second {
				window = window[1:]
			}
			if d := now.Sub(window[0].at).Seconds(); d > 0.2 {
				s.RateIn = float64(s.In-window[0].in) / d
				s.RateOut = float64(s.Out-window[0].out) / d
			}
			b, _ := json.Marshal(s)
			if _, err := fmt.Fprintf(w, "event: stats\ndata: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
			prev = &s
		}
		select {
		case <-r.Context().Done():
			return
		case <-u.done:
			return
		case <-tick.C:
		}
	}
}
