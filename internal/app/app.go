// Package app is waba's composition root: it builds every component from the configuration,
// starts them in order and stops them in reverse. cmd/waba parses the configuration and calls it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/clock"
	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/dialect/cloud"
	"github.com/openwaba/waba/internal/dialect/onprem"
	"github.com/openwaba/waba/internal/dispatch"
	"github.com/openwaba/waba/internal/engine"
	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/metrics"
	"github.com/openwaba/waba/internal/network/simnet"
	"github.com/openwaba/waba/internal/sandbox"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/store/postgres"
	"github.com/openwaba/waba/internal/store/sqlite"
	"github.com/openwaba/waba/internal/ui"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/webhook"
)

// App is one running waba.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    store.Store
	clock    *clock.Virtual
	eng      *engine.Engine
	net      *simnet.Net
	dispatch *dispatch.Dispatcher
	webhooks *webhook.Dispatcher
	metrics  *metrics.Metrics
	certs    *certs
	srv      *http.Server
	ln       net.Listener
	serve    chan error

	stopClock func()
	media     *media.Service
	stopMedia func()
	stopTmpl  func()
	ui        *ui.UI

	stopOnce sync.Once
	stopErr  error
}

// OpenStore opens (and migrates) the database the configuration selects.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	if cfg.IsPostgres() {
		st, err := postgres.Open(ctx, cfg.DB, log)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL %s: %w", cfg.Redacted(), err)
		}
		return st, nil
	}
	path := cfg.SQLitePath()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	st, err := sqlite.Open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return st, nil
}

// New builds an App: it opens the store and prepares the admin user, but listens on nothing yet.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	clk, err := restoreClock(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg, err = cloudIdentity(ctx, st, cfg); err != nil {
		st.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, clock: clk, metrics: metrics.New(), serve: make(chan error, 1)}
	a.media = media.New(st, clk, media.Options{}) // On-Prem: 64 MB uploads, 30-day retention
	ids := wa.NewIDs(nodeNumber())
	var eng *engine.Engine
	showSecurity := func(ctx context.Context) bool {
		s, err := eng.AppSettings(ctx)
		return err == nil && s.ShowSecurityNotifications
	}
	if bad, why := simnet.RestrictedBusiness(cfg.PhoneNumber); bad {
		st.Close()
		return nil, fmt.Errorf("business number +%s: %s; such businesses may not use the platform (seed 000)", cfg.PhoneNumber, why)
	}
	a.net, err = simnet.New(ctx, simnet.Options{Store: st, Logger: log, Seed: cfg.Seed, Realistic: cfg.RealisticLatency,
		UnknownNotOnWhatsApp: cfg.UnknownUsers == "not_on_whatsapp", ReceiptLatency: cfg.ReceiptLatency,
		Now: clk.Now, ShowSecurityNotifications: showSecurity, FetchMedia: a.fetchMedia})
	if err != nil {
		st.Close()
		return nil, err
	}
	eng = engine.New(engine.Options{
		Store:       st,
		Clock:       clk,
		IDs:         ids,
		Logger:      log,
		Business:    cfg.PhoneNumber,
		Shards:      cfg.Shards,
		CommitBatch: cfg.CommitBatch,
		Precheck:    a.net.Precheck,
		Accepted: func(shard int, msgType string) {
			a.metrics.Accepted(msgType)
			a.dispatch.Notify(shard)
		},
	})
	a.eng = eng
	if a.certs, err = newCerts(ctx, cfg, st, log); err != nil {
		st.Close()
		return nil, err
	}
	a.webhooks = webhook.New(webhook.Options{Store: st, Clock: clk, Logger: log, SettingsFor: a.endpoint,
		OnAttempt: a.metrics.WebhookDelivery, Client: &http.Client{Transport: a.certs}})
	if ws, ok := st.(store.WriterStatser); ok {
		a.metrics.SetWriterStats(ws.WriterStats)
	}
	a.metrics.SetQueueDepth("webhook", func() float64 {
		n, _ := st.CountWebhooks(context.Background(), store.WebhookPending)
		return float64(n)
	})
	a.dispatch = dispatch.New(dispatch.Options{
		Store: st, Clock: clk, Network: a.net, Render: renderer{eng, a.inboundMediaURL}, IDs: ids, Logger: log, Shards: cfg.Shards,
		WantStatus:    a.wantStatus,
		ProfileName:   func(waID string) string { return a.net.User(waID).Name },
		WebhooksAdded: a.webhooks.Wake,
		Observe:       a.metrics.Status,
	})
	eng.OnAppSettingsChange(func(ctx context.Context, old, cur engine.AppSettings) {
		if old.Webhooks.URL != cur.Webhooks.URL && cur.Webhooks.URL != "" {
			a.webhooks.RetryNow(ctx) // a new endpoint gets the backlog at once
		}
	})
	eng.OnRegistryChange(a.registryChanged)
	if cfg.Scenario != "" {
		n, err := a.net.LoadScenario(ctx, cfg.Scenario)
		if err != nil {
			st.Close()
			return nil, err
		}
		log.Info("loaded scenario", "file", cfg.Scenario, "users", n)
	}
	eng.OnTemplateStatus(a.templateWebhooks)
	if err := initRegistry(ctx, eng, cfg); err != nil {
		st.Close()
		return nil, fmt.Errorf("prepare business numbers: %w", err)
	}
	if err := eng.EnsureAdmin(ctx, cfg.AdminPassword); err != nil {
		st.Close()
		return nil, fmt.Errorf("prepare admin user: %w", err)
	}
	a.ui = ui.New(ui.Options{Store: st, Auth: eng, Clock: clk, Business: cfg.PhoneNumber, Shards: cfg.Shards, Logger: log})
	a.srv = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.srv.RegisterOnShutdown(a.ui.Close) // open UI event streams end, so Shutdown need not wait
	if cfg.TLS {
		a.srv.TLSConfig = a.certs.serverConfig()
	}
	return a, nil
}

// nodeNumber picks this process's 8-bit node number for message ids. With several nodes on
// one PostgreSQL database a random pick can collide; shard leases (DESIGN §6) will assign it.
func nodeNumber() int {
	return int(time.Now().UnixNano()>>10) & 0xff
}

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	v1 := onprem.New(a.eng, a.log, a.cfg.MaxBodyBytes).WithNetwork(onpremNetwork{a.net}, a).WithCertificates(a.certs).WithMedia(a.media)
	mux.Handle("/v1/", v1)
	mux.Handle("/metrics", v1.Authed(a.metrics.Handler()))
	mux.Handle("/sandbox/", sandbox.New(sandbox.Options{Engine: a.eng, Store: a.store, Clock: a.clock, Net: a.net,
		Inbound: a.dispatch.Inbound, Webhooks: a.webhooks, Rescheduled: a.dispatch.NotifyAll, Media: a.media, Logger: a.log}))
	mux.HandleFunc("/healthz", a.healthz)
	mux.Handle("GET /{$}", a.ui) // the web UI page
	mux.Handle("/ui/", a.ui)     // its assets, JSON endpoints and events stream
	// The Cloud API (Graph) paths /{version}/{id}… and /{id}…: the fallback, so every route
	// above keeps priority.
	mux.Handle("/", cloud.New(cloud.Options{Engine: a.eng, Logger: a.log, MaxBody: a.cfg.MaxBodyBytes,
		PhoneNumberID: a.cfg.PhoneNumberID, WABAID: a.cfg.WABAID, AccessToken: a.cfg.AccessToken,
		Now: a.clock.Now, Outage: a.net.InOutage, Client: &http.Client{Transport: a.certs}}).WithMedia(a.media))
	return mux
}

// healthz answers 200 when the store answers; `waba healthcheck` and container probes use it.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := a.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable","reason":"database does not answer"}`)
		return
	}
	io.WriteString(w, `{"status":"ok"}`)
}

// Start listens on the configured address and serves in the background.
func (a *App) Start(ctx context.Context) error {
	if err := a.eng.Start(ctx); err != nil {
		return err
	}
	if err := a.dispatch.Start(ctx); err != nil {
		return err
	}
	if err := a.webhooks.Start(ctx); err != nil {
		return err
	}
	a.stopClock = a.watchClock()
	a.stopMedia = a.sweepMedia()
	a.stopTmpl = a.reviewTemplates()
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		a.eng.Stop()
		a.dispatch.Stop()
		a.webhooks.Stop()
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	a.certs.start()
	if a.cfg.TLS {
		// ServeTLS (rather than Serve on a TLS listener) also sets up HTTP/2; the certificate
		// comes from TLSConfig.GetCertificate, so no files are named here.
		go func() { a.serve <- a.srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { a.serve <- a.srv.Serve(ln) }()
	}
	return nil
}

// Addr is the address actually listened on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the base URL of the listener: https:// when TLS is on.
func (a *App) URL() string {
	if a.cfg.TLS {
		return "https://" + a.Addr()
	}
	return "http://" + a.Addr()
}

// PublicURL is the origin clients reach waba at, for absolute URLs made outside a request:
// the configured public_url, else the listener's URL with 127.0.0.1 for an unspecified host
// (a client cannot connect to 0.0.0.0 or ::). Before Start it is the configured value or "".
func (a *App) PublicURL() string {
	addr := ""
	if a.ln != nil {
		addr = a.Addr()
	}
	return publicOrigin(a.cfg.PublicURL, a.cfg.TLS, addr)
}

// publicOrigin is PublicURL's rule over the configured URL, TLS and the listened address.
func publicOrigin(configured string, tls bool, addr string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	if addr == "" {
		return ""
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port)
}

// inboundMediaURL is the download URL of an inbound media for Cloud webhooks (webhooks.md
// §2.2), on PublicURL, valid five minutes of virtual time from now (cloud-api.md §5). Before
// the listener exists and without public_url there is no origin, and no url.
func (a *App) inboundMediaURL(gid string) string {
	base := a.PublicURL()
	if base == "" {
		return ""
	}
	return cloud.MediaURL(base, a.cfg.AccessToken, gid, a.clock.Now())
}

// CAPath is the generated CA certificate clients must trust (absolute), or "" when TLS is off
// or the certificate is the operator's own.
func (a *App) CAPath() string { return a.certs.caPath }

// Engine exposes the engine to tests and to in-process tools.
func (a *App) Engine() *engine.Engine { return a.eng }

// Store exposes the store to tests and to in-process tools.
func (a *App) Store() store.Store { return a.store }

// Stop shuts down in reverse order: the HTTP server finishes its in-flight requests (whose
// messages the engine commits), then the engine writes anything still queued, then the store
// closes. Accepted work is never dropped by a graceful stop.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *App) stop(ctx context.Context) error {
	var errs []error
	if a.ln != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-a.serve; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	a.eng.Stop()
	a.dispatch.Stop()
	a.webhooks.Stop()
	a.certs.close()
	if a.stopMedia != nil {
		a.stopMedia()
	}
	if a.stopTmpl != nil {
		a.stopTmpl()
	}
	if a.stopClock != nil {
		a.stopClock()
	}
	if err := a.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	return errors.Join(errs...)
}

// Run builds, starts and runs waba until ctx is cancelled, then stops it gracefully.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.store.Close()
		return err
	}
	a.banner(stdout)
	select {
	case <-ctx.Done():
	case err := <-a.serve:
		a.serve <- err
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Stop(stopCtx)
}
