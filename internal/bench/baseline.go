package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/wa"
)

// Baseline is the bare server waba is compared with (shared/reference/performance.md): Go's
// net/http, the same JSON decoded into a generic struct, an id made, 201 with waba's response
// shape, and nothing stored. It is the ceiling of what this machine's HTTP stack and JSON decoder
// allow, measured under the same load in the same run.
type Baseline struct {
	srv  *http.Server
	ln   net.Listener
	next atomic.Int64
	out  chan error
}

// baselineMessage is "a generic struct": the top-level fields every send has, and each message
// object kept as generic JSON, so decoding costs about what any JSON API pays.
type baselineMessage struct {
	RecipientType string         `json:"recipient_type"`
	To            string         `json:"to"`
	Type          string         `json:"type"`
	PreviewURL    *bool          `json:"preview_url"`
	Text          map[string]any `json:"text"`
	Image         map[string]any `json:"image"`
	Template      map[string]any `json:"template"`
	Interactive   map[string]any `json:"interactive"`
}

const baselineMeta = `"meta":{"api_status":"stable","version":"` + onprem.Version + `"}}`

// StartBaseline listens on addr (use 127.0.0.1:0) and serves in the background.
func StartBaseline(addr string) (*Baseline, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &Baseline{ln: ln, out: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", b.messages)
	mux.HandleFunc("POST /v1/users/login", b.login)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { b.out <- b.srv.Serve(ln) }()
	return b, nil
}

// URL is the base URL of the listener.
func (b *Baseline) URL() string { return "http://" + b.ln.Addr().String() }

// Stop shuts the server down.
func (b *Baseline) Stop(ctx context.Context) error {
	err := b.srv.Shutdown(ctx)
	if serr := <-b.out; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// login answers any Basic credentials with a fixed token, in the On-Prem shape.
func (b *Baseline) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	exp := time.Now().UTC().Add(7 * 24 * time.Hour).Format("2006-01-02 15:04:05+00:00")
	io.WriteString(w, `{"users":[{"token":"baseline","expires_after":"`+exp+`"}],`+baselineMeta)
}

// messages does what waba's POST /v1/messages does minus the rules and the store: check the
// bearer and the Content-Type, decode, make an id, answer 201.
func (b *Baseline) messages(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		baselineError(w, http.StatusUnauthorized, 1005, "Access denied")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		baselineError(w, http.StatusBadRequest, 1025, "Invalid Request")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		baselineError(w, http.StatusBadRequest, 1025, "Invalid Request")
		return
	}
	var m baselineMessage
	if err := json.Unmarshal(body, &m); err != nil {
		baselineError(w, http.StatusBadRequest, 1025, "Invalid Request")
		return
	}
	id := wa.OnPremID(b.next.Add(1), false)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"messages":[{"id":"`+id+`"}],`+baselineMeta)
}

func baselineError(w http.ResponseWriter, status, code int, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(title)
	io.WriteString(w, `{"errors":[{"code":`+strconv.Itoa(code)+`,"title":`+string(b)+`}],`+baselineMeta)
}
