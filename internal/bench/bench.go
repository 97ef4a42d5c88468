// Package bench is `waba bench`: a load generator for the On-Premises `POST /v1/messages` with a
// built-in webhook receiver, and a bare Go HTTP server to compare against (issue 7,
// shared/DESIGN.md §8, shared/reference/performance.md).
//
// It loads a waba that is already running (Options.URL) or one it starts in-process on a free
// port with a temporary data folder, in a closed loop (Options.Concurrency workers, each sending
// as soon as its last answer came back) or an open loop (Options.Rate messages per second on a
// fixed schedule, latency measured from the due time so that a slow server cannot hide its
// queueing), and reports accepted messages/s, accept latency percentiles, errors by status and
// code, webhook rates and end-to-end latency (send → `delivered` webhook), and the server's
// memory. With Options.Baseline every round also loads the bare server, and the report gives the
// ratio of the two measured in the same run.
//
// Goroutines of the load generator carry the pprof label bench=loadgen (the webhook receiver
// bench=receiver, the baseline bench=baseline), so a CPU profile of an in-process run can be
// narrowed to waba with `go tool pprof -tagignore=bench=. …`.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/openwaba/waba/internal/app"
	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/store"
)

// Options configure a run. The zero value of a field means its default.
type Options struct {
	// URL is the base URL of a running waba (http://host:port); empty starts a fresh waba
	// in-process on 127.0.0.1:0 with a temporary data folder, stopped and removed at the end.
	URL string
	// User and Password log in to URL (POST /v1/users/login); User defaults to admin.
	User, Password string
	// DB selects the in-process waba's database: empty for SQLite in the temporary folder, a
	// postgres:// URL for PostgreSQL.
	DB string
	// Shards is the in-process waba's shard count (default: waba's default).
	Shards int

	// Concurrency is the number of workers, hence of connections (default 64). In an open loop
	// it caps the requests in flight.
	Concurrency int
	// Rate, when positive, selects the open loop: messages per second on a fixed schedule.
	Rate float64
	// Duration is the measured window (default 10s); Warmup runs before it and is not counted
	// (default 2s; set NoWarmup for none).
	Duration, Warmup time.Duration
	NoWarmup         bool
	// Mix is the share of each kind of message (default DefaultMix).
	Mix Mix
	// Recipients is how many distinct recipients 1555123xxxx the load cycles through (default
	// 1000, at most 10000).
	Recipients int
	// Baseline also loads the bare server in every round.
	Baseline bool
	// Rounds is how many rounds to run (default 1); each round loads the baseline (if asked)
	// then waba, and the report gives the medians.
	Rounds int
	// PID is the process whose RSS is reported when URL is set (0: not reported).
	PID int
	// WebhookAddr is where the webhook receiver listens (default 127.0.0.1:0). A fixed port lets
	// a waba started elsewhere be configured with the receiver's URL before the run.
	WebhookAddr string
	// Drain is how long to keep waiting for delivered webhooks after the load stops, while some
	// are still missing (default 5s). Only used once a status has arrived.
	Drain time.Duration
	// CPUProfile, when set, receives a CPU profile of the whole process taken over the first
	// waba round's measured window.
	CPUProfile io.Writer
	// Progress receives a progress line every second (nil: none); ProgressTTY overwrites it in
	// place with \r instead of writing one line per second.
	Progress    io.Writer
	ProgressTTY bool
	// Logger is the in-process waba's logger (nil: discard).
	Logger *slog.Logger
	// NoSetup leaves the waba as it is. By default the run first points the waba's webhooks at
	// the built-in receiver (PATCH /v1/settings/application with sent_status true; with URL
	// the previous webhook URL is put back at the end), gives every recipient the fixed receipt
	// latency Latency (PUT /sandbox/v1/users/{wa_id}), and, when the mix has free-form kinds,
	// makes every recipient write once (POST /sandbox/v1/users/{wa_id}/messages) so that its
	// 24-hour service window is open and text, media and interactive messages are delivered
	// instead of failing with 470. The sandbox calls need an admin user.
	NoSetup bool
	// Preload stores this many finished outbound messages (status read, nothing scheduled) in
	// the in-process waba's store before it starts, for the "throughput with 10 million stored
	// messages" target of DESIGN §8. Not with URL.
	Preload int
	// Latency is the delivered and read latency of the recipients. "0" (the default, the zero
	// simulated latency of DESIGN §8) starts the in-process waba with receipt_latency 0s and
	// sets nothing per recipient; with URL the server's own receipt_latency then decides. A
	// positive duration is given to every recipient by the setup (PUT /sandbox/v1/users/…);
	// "default" keeps the network's own 0.2–1 s delivered and 1–3 s read.
	Latency string

	// invalidEvery, when positive, leaves "to" out of every n-th message (tests).
	invalidEvery int64
	// mediaID is the media the setup uploaded for media messages; empty: they send a link.
	mediaID string
	// trackLimit caps the end-to-end matching tables (default 200000).
	trackLimit int
}

func (o *Options) setDefaults() {
	if o.User == "" {
		o.User = "admin"
	}
	if o.Concurrency == 0 {
		o.Concurrency = 64
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup == 0 && !o.NoWarmup {
		o.Warmup = 2 * time.Second
	}
	if o.Mix == nil {
		o.Mix = DefaultMix()
	}
	if o.Recipients == 0 {
		o.Recipients = 1000
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	if o.WebhookAddr == "" {
		o.WebhookAddr = "127.0.0.1:0"
	}
	if o.Drain == 0 {
		o.Drain = 5 * time.Second
	}
	if o.Latency == "" {
		o.Latency = "0"
	}
	if o.trackLimit == 0 {
		o.trackLimit = 200000
	}
}

// Validate returns every problem with the options at once (after defaults).
func (o *Options) Validate() error {
	o.setDefaults()
	var p []string
	if o.Preload < 0 || o.Preload > 100_000_000 {
		p = append(p, fmt.Sprintf("preload %d: want 0 to 100000000", o.Preload))
	}
	if o.URL != "" {
		if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
			p = append(p, fmt.Sprintf("url %q: want http://host:port", o.URL))
		}
		if o.DB != "" {
			p = append(p, "db: only for the in-process waba (leave out --url)")
		}
		if o.Shards != 0 {
			p = append(p, "shards: only for the in-process waba (leave out --url)")
		}
		if o.Preload != 0 {
			p = append(p, "preload: only for the in-process waba (leave out --url)")
		}
		if o.Password == "" {
			p = append(p, "password: needed with --url (--password or WABA_ADMIN_PASSWORD)")
		}
	} else if o.PID != 0 {
		p = append(p, "pid: only with --url (the in-process waba's RSS is this process's)")
	}
	if o.Concurrency < 1 || o.Concurrency > 10000 {
		p = append(p, fmt.Sprintf("concurrency %d: must be from 1 to 10000", o.Concurrency))
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) || o.Rate > 10_000_000 {
		p = append(p, fmt.Sprintf("rate %v: must be 0 (closed loop) or a positive number of messages/s", o.Rate))
	}
	if o.Duration < 100*time.Millisecond {
		p = append(p, fmt.Sprintf("duration %v: must be at least 100ms", o.Duration))
	}
	if o.Warmup < 0 {
		p = append(p, fmt.Sprintf("warmup %v: must not be negative", o.Warmup))
	}
	if o.Recipients < 1 || o.Recipients > 10000 {
		p = append(p, fmt.Sprintf("recipients %d: must be from 1 to 10000 (the 1555123xxxx block)", o.Recipients))
	}
	if o.Rounds < 1 || o.Rounds > 100 {
		p = append(p, fmt.Sprintf("rounds %d: must be from 1 to 100", o.Rounds))
	}
	if o.Drain < 0 {
		p = append(p, fmt.Sprintf("drain %v: must not be negative", o.Drain))
	}
	if o.Latency != "default" {
		if d, err := time.ParseDuration(o.Latency); err != nil || d < 0 {
			p = append(p, fmt.Sprintf("latency %q: want 0, a positive duration such as 1ms, or \"default\"", o.Latency))
		}
	}
	total := 0
	for _, e := range o.Mix {
		total += e.Weight
	}
	if total <= 0 {
		p = append(p, "mix: at least one weight must be positive")
	}
	if len(p) > 0 {
		return errors.New("invalid options:\n  - " + strings.Join(p, "\n  - "))
	}
	return nil
}

// Settings echo the options in the report.
type Settings struct {
	Target          string  `json:"target"` // "in-process" or the URL
	DB              string  `json:"db,omitempty"`
	Mode            string  `json:"mode"` // "closed" or "open"
	Concurrency     int     `json:"concurrency"`
	Rate            float64 `json:"rate,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	Mix             string  `json:"mix"`
	Recipients      int     `json:"recipients"`
	Rounds          int     `json:"rounds"`
	Baseline        bool    `json:"baseline"`
	// Preloaded is how many stored messages the in-process waba started with, and how long
	// storing them took (not measured as load).
	Preloaded        int     `json:"preloaded,omitempty"`
	PreloadedSeconds float64 `json:"preloaded_seconds,omitempty"`
}

// Report is the outcome of a run. Waba and Baseline are the single round's results or, with
// several rounds, their medians (counts are summed); Rounds has every round.
type Report struct {
	Machine    Machine       `json:"machine"`
	Settings   Settings      `json:"settings"`
	WebhookURL string        `json:"webhook_url"`
	Setup      *Setup        `json:"setup,omitempty"`
	Waba       *Result       `json:"waba"`
	Baseline   *Result       `json:"baseline,omitempty"`
	Ratio      *Ratio        `json:"ratio,omitempty"`
	Rounds     []RoundResult `json:"rounds"`
	// Interrupted is set when the run was cut short (the figures cover what was measured).
	Interrupted bool `json:"interrupted,omitempty"`
	// ProfileError says why the CPU profile could not be taken, if it could not.
	ProfileError string `json:"profile_error,omitempty"`
}

// Ratio is waba's figure over the baseline's, from the same run.
type Ratio struct {
	Throughput float64 `json:"throughput"`
	P99        float64 `json:"p99"`
}

// RoundResult is one round.
type RoundResult struct {
	Round    int     `json:"round"`
	Baseline *Result `json:"baseline,omitempty"`
	Waba     *Result `json:"waba"`
}

// Run executes the benchmark. A cancelled ctx ends the load early; the report then covers what
// was measured and has Interrupted set.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	clk := newClock()
	client := newClient(o.Concurrency)
	defer client.CloseIdleConnections()
	rep := &Report{Machine: machine(), Settings: o.settings()}

	var recv *receiver
	var err error
	pprof.Do(context.Background(), pprof.Labels("bench", "receiver"), func(context.Context) {
		recv, err = startReceiver(clk, o.WebhookAddr)
	})
	if err != nil {
		return nil, err
	}
	defer stopWithin(recv.stop)
	rep.WebhookURL = recv.URL()

	waba := &target{name: "waba", base: strings.TrimRight(o.URL, "/")}
	user, password := o.User, o.Password
	rssPID, rssSource, rssNote := o.PID, "", ""
	var writerStats func() store.WriterStats
	if o.URL == "" {
		srv, err := startInProcess(ctx, &o)
		if err != nil {
			return nil, err
		}
		defer stopWithin(srv.stop)
		waba.base = srv.app.URL()
		user, password = "admin", srv.password
		rep.Settings.Preloaded, rep.Settings.PreloadedSeconds = o.Preload, srv.preloaded.Seconds()
		if ws, ok := srv.app.Store().(store.WriterStatser); ok {
			writerStats = ws.WriterStats
		}
		rssSource = "/proc/self/status"
		rssNote = "in-process: the load generator and the webhook receiver share the process"
		if o.Baseline {
			rssNote += ", and so does the baseline server"
		}
	} else if o.PID > 0 {
		rssSource = fmt.Sprintf("/proc/%d/status", o.PID)
	}
	if waba.token, err = login(ctx, client, waba.base, user, password); err != nil {
		return nil, err
	}
	waba.auth = []string{"Bearer " + waba.token}
	rep.Setup = setup(ctx, &o, client, waba, recv.URL())
	if o.URL != "" {
		defer restoreWebhook(client, waba, rep.Setup)
	}

	var base *target
	if o.Baseline {
		var b *Baseline
		pprof.Do(context.Background(), pprof.Labels("bench", "baseline"), func(context.Context) {
			b, err = StartBaseline("127.0.0.1:0")
		})
		if err != nil {
			return nil, fmt.Errorf("baseline server: %w", err)
		}
		defer stopWithin(b.Stop)
		base = &target{name: "baseline", base: b.URL()}
		if base.token, err = login(ctx, client, base.base, "bench", "bench"); err != nil {
			return nil, err
		}
		base.auth = []string{"Bearer " + base.token}
	}

	prof := &profiler{w: o.CPUProfile}
	for i := 1; i <= o.Rounds && ctx.Err() == nil; i++ {
		rr := RoundResult{Round: i}
		if base != nil {
			rr.Baseline = runRound(ctx, &o, clk, client, base, nil, nil, i)
		}
		if ctx.Err() == nil {
			ri := &roundIO{recv: recv, rssPID: rssPID, rssSource: rssSource, rssNote: rssNote, writer: writerStats}
			rr.Waba = runRound(ctx, &o, clk, client, waba, ri, prof, i)
		}
		if rr.Waba != nil {
			rep.Rounds = append(rep.Rounds, rr)
		}
	}
	if prof.err != nil {
		rep.ProfileError = prof.err.Error()
	}
	rep.Interrupted = ctx.Err() != nil
	if len(rep.Rounds) == 0 {
		return rep, fmt.Errorf("interrupted before a round completed: %w", ctx.Err())
	}
	var ws, bs []*Result
	for _, r := range rep.Rounds {
		ws = append(ws, r.Waba)
		if r.Baseline != nil {
			bs = append(bs, r.Baseline)
		}
	}
	rep.Waba = median(ws)
	if len(bs) > 0 {
		rep.Baseline = median(bs)
		rep.Ratio = &Ratio{}
		if rep.Baseline.AcceptedPerSec > 0 {
			rep.Ratio.Throughput = round3(rep.Waba.AcceptedPerSec / rep.Baseline.AcceptedPerSec)
		}
		if rep.Baseline.Latency.P99 > 0 {
			rep.Ratio.P99 = round3(rep.Waba.Latency.P99 / rep.Baseline.Latency.P99)
		}
	}
	return rep, nil
}

func (o *Options) settings() Settings {
	s := Settings{
		Target:          "in-process",
		Mode:            "closed",
		Concurrency:     o.Concurrency,
		Rate:            o.Rate,
		DurationSeconds: o.Duration.Seconds(),
		WarmupSeconds:   o.Warmup.Seconds(),
		Mix:             o.Mix.String(),
		Recipients:      o.Recipients,
		Rounds:          o.Rounds,
		Baseline:        o.Baseline,
	}
	if o.URL != "" {
		s.Target = o.URL
	} else if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		s.DB = "postgres"
	} else {
		s.DB = "sqlite"
	}
	if o.Rate > 0 {
		s.Mode = "open"
	}
	return s
}

// roundIO is what a waba round has and a baseline round has not: the webhook receiver, the
// profiler and the RSS source.
type roundIO struct {
	recv      *receiver
	rssPID    int
	rssSource string
	rssNote   string
	writer    func() store.WriterStats // the in-process store's single writer, or nil
}

// profiler takes one CPU profile, over the first waba round's measured window.
type profiler struct {
	w       io.Writer
	running bool
	done    bool
	err     error
}

func (p *profiler) start() {
	if p == nil || p.w == nil || p.done || p.running {
		return
	}
	if err := pprof.StartCPUProfile(p.w); err != nil {
		p.err = err
		p.done = true
		return
	}
	p.running = true
}

func (p *profiler) stop() {
	if p == nil || !p.running {
		return
	}
	pprof.StopCPUProfile()
	p.running, p.done = false, true
}

func runRound(ctx context.Context, o *Options, clk *clock, client *http.Client, tgt *target, rio *roundIO, prof *profiler, n int) *Result {
	r := &round{
		opt: o, clk: clk, client: client, tgt: tgt, url: tgt.base + "/v1/messages",
		gen: &bodyGen{sched: o.Mix.schedule(), recipients: int64(o.Recipients), invalidEvery: o.invalidEvery, mediaID: o.mediaID},
	}
	r.runStart = clk.now()
	r.win = window{start: r.runStart + o.Warmup, end: r.runStart + o.Warmup + o.Duration}

	var hooks *hookRound
	var rss rssSampler
	if rio != nil {
		r.pid = rio.rssPID
		r.track = newTracker(sampleEvery(o), o.trackLimit, r.win)
		hooks = rio.recv.begin(r.win, r.track)
		rss = rssSampler{pid: rio.rssPID, on: rio.rssSource != ""}
	}

	pr := &progressLine{w: o.Progress, tty: o.ProgressTTY}
	label := fmt.Sprintf("%-8s round %d/%d", tgt.name, n, o.Rounds)
	var lastDone int64
	lastAt := r.runStart
	progress := func(phase string) {
		if rio != nil {
			rss.sample(phase == "measure")
		}
		if o.Progress == nil {
			return
		}
		now := clk.now()
		done := r.done.Load()
		rate := float64(done-lastDone) / max(now-lastAt, time.Millisecond).Seconds()
		lastDone, lastAt = done, now
		line := fmt.Sprintf("%s  %-7s %5.1fs  %8.0f answers/s  %d errors  %d in flight",
			label, phase, (now - r.runStart).Seconds(), rate, r.failed.Load(), r.inflight.Load())
		if hooks != nil {
			line += fmt.Sprintf("  webhooks: %d statuses", hooks.statuses.Load())
		}
		if rss.on && rss.last > 0 {
			line += fmt.Sprintf("  RSS %.1f MiB", mib(rss.last))
		}
		pr.print(line)
	}
	var w0 store.WriterStats
	var w0At time.Duration
	onMeasure := func() {
		prof.start()
		if rio != nil && rio.writer != nil {
			w0, w0At = rio.writer(), clk.now()
		}
	}
	res := r.run(ctx, onMeasure, progress)
	prof.stop()
	if rio != nil && rio.writer != nil && w0At > 0 {
		res.Writer = writerUse(w0, rio.writer(), clk.now()-w0At)
	}

	if hooks != nil {
		if hooks.statuses.Load() > 0 {
			r.drain(ctx, hooks, pr, label)
		}
		res.Webhook = hooks.result(rio.recv.URL(), time.Duration(res.MeasuredSeconds*float64(time.Second)))
		if rss.on {
			rss.sample(true)
			res.RSS = rss.result(rio.rssSource, rio.rssNote)
		}
	}
	pr.done()
	return res
}

// drain waits, up to o.Drain, for the delivered statuses of tracked messages that are still
// missing; it gives up early when no webhook arrived for a second.
func (r *round) drain(ctx context.Context, h *hookRound, pr *progressLine, label string) {
	deadline := r.clk.now() + r.opt.Drain
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	lastPrint := r.clk.now()
	for r.track.waiting() > 0 && r.clk.now() < deadline {
		if r.clk.now()-time.Duration(h.lastArrival.Load()) > time.Second {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := r.clk.now(); now-lastPrint >= time.Second && r.opt.Progress != nil {
			lastPrint = now
			pr.print(fmt.Sprintf("%s  drain   waiting for %d delivered webhooks", label, r.track.waiting()))
		}
	}
}

// sampleEvery picks k for "track 1 in k message ids" so that about 100,000 sends are tracked
// whatever the length of the run (a closed loop is assumed to reach 20,000 messages/s).
func sampleEvery(o *Options) uint64 {
	rate := o.Rate
	if rate <= 0 {
		rate = 20000
	}
	total := rate * (o.Warmup + o.Duration).Seconds()
	return uint64(max(1, math.Ceil(total/100000)))
}

// rssSampler keeps the server's RSS at the last sample and its peak over the measured window.
type rssSampler struct {
	pid       int
	on        bool
	last      int64
	peak      int64
	lastError error
}

func (s *rssSampler) sample(measuring bool) {
	if !s.on {
		return
	}
	b, err := readRSS(s.pid)
	if err != nil {
		s.lastError = err
		return
	}
	s.last = b
	if measuring {
		s.peak = max(s.peak, b)
	}
}

func (s *rssSampler) result(source, note string) *RSS {
	if s.last == 0 {
		if s.lastError != nil {
			return &RSS{Source: source, Note: "could not be read: " + s.lastError.Error()}
		}
		return nil
	}
	return &RSS{EndMiB: mib(s.last), PeakMiB: mib(max(s.peak, s.last)), Source: source, Note: note}
}

// progressLine writes the progress to a terminal in place, or as plain lines elsewhere.
type progressLine struct {
	w       io.Writer
	tty     bool
	printed bool
}

func (p *progressLine) print(line string) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.printed = true
}

func (p *progressLine) done() {
	if p.w != nil && p.tty && p.printed {
		fmt.Fprintln(p.w)
	}
	p.printed = false
}

// IsTerminal reports whether w is a character device (a terminal), for ProgressTTY.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// inProcess is a waba started by the bench.
type inProcess struct {
	app       *app.App
	dir       string
	password  string
	preloaded time.Duration
}

func startInProcess(ctx context.Context, o *Options) (*inProcess, error) {
	dir, err := os.MkdirTemp("", "waba-bench-")
	if err != nil {
		return nil, fmt.Errorf("temporary data folder: %w", err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = dir
	cfg.DB = o.DB
	if o.Shards != 0 {
		cfg.Shards = o.Shards
	}
	if o.zeroLatency() {
		zero := time.Duration(0)
		cfg.ReceiptLatency = &zero
	}
	// Meets the On-Prem password policy: digit, upper, lower, special.
	cfg.AdminPassword = "Bench-" + hex.EncodeToString(rnd[:]) + "-Z9"
	if p := cfg.Validate(); len(p) > 0 {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("in-process waba: %w", p)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("in-process waba: %w", err)
	}
	fail := func(err error) (*inProcess, error) {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Stop(stopCtx)
		os.RemoveAll(dir)
		return nil, fmt.Errorf("in-process waba: %w", err)
	}
	var took time.Duration
	if o.Preload > 0 {
		t0 := time.Now()
		if err := preload(ctx, a.Store(), a.Engine().Business(), o.Preload, o.Progress); err != nil {
			return fail(err)
		}
		took = time.Since(t0)
	}
	if err := a.Start(ctx); err != nil {
		return fail(err)
	}
	return &inProcess{app: a, dir: dir, password: cfg.AdminPassword, preloaded: took}, nil
}

func (s *inProcess) stop(ctx context.Context) error {
	err := s.app.Stop(ctx)
	return errors.Join(err, os.RemoveAll(s.dir))
}

// stopWithin calls stop with a 30-second deadline; errors at the very end of a run have no one
// to go to but the run's own report, which is already written, so they are dropped.
func stopWithin(stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = stop(ctx)
}

// median combines several rounds of one target: rates and latencies are medians, counts sums.
func median(rs []*Result) *Result {
	if len(rs) == 1 {
		return rs[0]
	}
	out := *rs[0]
	med := func(f func(*Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	out.MeasuredSeconds = med(func(r *Result) float64 { return r.MeasuredSeconds })
	out.AcceptedPerSec = med(func(r *Result) float64 { return r.AcceptedPerSec })
	out.Latency = Latency{
		P50:  med(func(r *Result) float64 { return r.Latency.P50 }),
		P90:  med(func(r *Result) float64 { return r.Latency.P90 }),
		P99:  med(func(r *Result) float64 { return r.Latency.P99 }),
		Max:  med(func(r *Result) float64 { return r.Latency.Max }),
		Mean: med(func(r *Result) float64 { return r.Latency.Mean }),
	}
	out.Sent, out.Accepted, out.Non2xx, out.TransportErrors, out.Unsent = 0, 0, 0, 0, 0
	errs := map[errKey]int64{}
	titles := map[errKey]string{}
	for _, r := range rs {
		out.Sent += r.Sent
		out.Accepted += r.Accepted
		out.Non2xx += r.Non2xx
		out.TransportErrors += r.TransportErrors
		out.Unsent += r.Unsent
		for _, e := range r.Errors {
			k := errKey{e.Status, e.Code}
			errs[k] += e.Count
			titles[k] = e.Title
		}
		if r.LastTransport != "" {
			out.LastTransport = r.LastTransport
		}
	}
	out.Errors = errorList(errs, titles)
	if rs[0].Webhook != nil {
		w := *rs[0].Webhook
		w.ByStatus = map[string]int64{}
		w.Posts, w.Statuses, w.Messages, w.Invalid, w.E2ESamples, w.Untracked, w.Undelivered = 0, 0, 0, 0, 0, 0, 0
		for _, r := range rs {
			rw := r.Webhook
			w.Posts += rw.Posts
			w.Statuses += rw.Statuses
			w.Messages += rw.Messages
			w.Invalid += rw.Invalid
			w.E2ESamples += rw.E2ESamples
			w.Untracked += rw.Untracked
			w.Undelivered += rw.Undelivered
			for k, v := range rw.ByStatus {
				w.ByStatus[k] += v
			}
		}
		w.PostsPerSec = med(func(r *Result) float64 { return r.Webhook.PostsPerSec })
		w.StatusesPerSec = med(func(r *Result) float64 { return r.Webhook.StatusesPerSec })
		w.DeliveredPerSec = med(func(r *Result) float64 { return r.Webhook.DeliveredPerSec })
		var e2e []Latency
		for _, r := range rs {
			if r.Webhook.EndToEnd != nil {
				e2e = append(e2e, *r.Webhook.EndToEnd)
			}
		}
		w.EndToEnd = nil
		if len(e2e) > 0 {
			pick := func(f func(Latency) float64) float64 {
				v := make([]float64, len(e2e))
				for i, l := range e2e {
					v[i] = f(l)
				}
				return medianOf(v)
			}
			w.EndToEnd = &Latency{
				P50:  pick(func(l Latency) float64 { return l.P50 }),
				P90:  pick(func(l Latency) float64 { return l.P90 }),
				P99:  pick(func(l Latency) float64 { return l.P99 }),
				Max:  pick(func(l Latency) float64 { return l.Max }),
				Mean: pick(func(l Latency) float64 { return l.Mean }),
			}
		}
		if w.Statuses > 0 && w.EndToEnd != nil {
			w.Note = ""
		}
		out.Webhook = &w
	}
	var cpus []*CPUUse
	for _, r := range rs {
		if r.CPU != nil {
			cpus = append(cpus, r.CPU)
		}
	}
	out.CPU = nil
	if len(cpus) == len(rs) {
		pick := func(f func(*CPUUse) float64) float64 {
			v := make([]float64, len(cpus))
			for i, c := range cpus {
				v[i] = f(c)
			}
			return round2(medianOf(v))
		}
		out.CPU = &CPUUse{
			Process: pick(func(c *CPUUse) float64 { return c.Process }),
			Server:  pick(func(c *CPUUse) float64 { return c.Server }),
			Other:   pick(func(c *CPUUse) float64 { return c.Other }),
			Idle:    pick(func(c *CPUUse) float64 { return c.Idle }),
		}
	}
	var ws []*WriterUse
	for _, r := range rs {
		if r.Writer != nil {
			ws = append(ws, r.Writer)
		}
	}
	out.Writer = nil
	if len(ws) == len(rs) {
		pick := func(f func(*WriterUse) float64) float64 {
			v := make([]float64, len(ws))
			for i, w := range ws {
				v[i] = f(w)
			}
			return round2(medianOf(v))
		}
		out.Writer = &WriterUse{
			TransactionsPerSecond: pick(func(w *WriterUse) float64 { return w.TransactionsPerSecond }),
			JobsPerTransaction:    pick(func(w *WriterUse) float64 { return w.JobsPerTransaction }),
			Busy:                  pick(func(w *WriterUse) float64 { return w.Busy }),
			CommitMs:              pick(func(w *WriterUse) float64 { return w.CommitMs }),
			RunMs:                 pick(func(w *WriterUse) float64 { return w.RunMs }),
			SyncsPerSecond:        pick(func(w *WriterUse) float64 { return w.SyncsPerSecond }),
			SyncMs:                pick(func(w *WriterUse) float64 { return w.SyncMs }),
		}
	}
	var rss []*RSS
	for _, r := range rs {
		if r.RSS != nil {
			rss = append(rss, r.RSS)
		}
	}
	if len(rss) > 0 {
		m := *rss[len(rss)-1]
		for _, x := range rss {
			m.PeakMiB = max(m.PeakMiB, x.PeakMiB)
		}
		out.RSS = &m
	}
	return &out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return round3((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

// zeroLatency reports whether --latency asks for zero receipt latency, which only the server's
// receipt_latency can give (a recipient's own fixed latency of 0 means "not set").
func (o *Options) zeroLatency() bool {
	d, err := time.ParseDuration(o.Latency)
	return err == nil && d == 0
}
