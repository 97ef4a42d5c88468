package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openwaba/waba/internal/bench"
)

const benchUsage = `usage: waba bench [flags]

Loads POST /v1/messages of a waba — one started in-process on a free port with a temporary data
folder, or a running one with --url — and reports accepted messages/s, accept latency
percentiles, errors by HTTP status and code, webhook rates, end-to-end latency (send → delivered
webhook, from the built-in receiver) and the server's RSS. --baseline also loads a bare Go HTTP
server that decodes the same JSON and stores nothing, and reports the ratio.

examples:
  waba bench --baseline                        closed loop, 64 workers, 10 s, in-process SQLite, end to end
  waba bench --rate 5000 --duration 30s        open loop at 5,000 messages/s
  waba bench --db postgres://localhost/waba    in-process waba on PostgreSQL
  WABA_ADMIN_PASSWORD=… waba bench --url http://127.0.0.1:9090 --pid $(pidof waba)

flags:`

// benchCmd is `waba bench`.
func benchCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("waba bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, benchUsage)
		fs.PrintDefaults()
	}
	var (
		o        bench.Options
		mix      string
		asJSON   bool
		cpuprof  string
		logLevel string
	)
	fs.StringVar(&o.URL, "url", "", "base URL of a running waba (default: start one in-process)")
	fs.StringVar(&o.User, "user", "admin", "On-Prem user to log in as, with --url")
	fs.StringVar(&o.Password, "password", "", "password of --user, with --url (default env WABA_ADMIN_PASSWORD)")
	fs.StringVar(&o.DB, "db", "", "in-process waba's database: a postgres:// URL (default SQLite in a temporary folder)")
	fs.IntVar(&o.Shards, "shards", 0, "in-process waba's shards: 1, 2, 4, 8, 16 or 32 (default waba's)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "workers (connections); in an open loop, the most requests in flight")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop: messages per second on a fixed schedule (default 0: closed loop)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measured time per target and round")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "warm-up before each measured window, not counted")
	fs.StringVar(&mix, "mix", bench.DefaultMix().String(), "message mix as kind=weight: text, template, media (an image the setup uploads, sent by id), interactive (reply buttons)")
	fs.IntVar(&o.Recipients, "recipients", 1000, "distinct recipients, 1555123xxxx (1 to 10000)")
	fs.IntVar(&o.Preload, "preload", 0, "in-process waba: store this many finished messages before the load (the 10-million-row target of DESIGN §8)")
	fs.BoolVar(&o.Baseline, "baseline", false, "also load a bare Go HTTP server that stores nothing, and report the ratio")
	fs.IntVar(&o.Rounds, "rounds", 1, "rounds; each loads the baseline (with --baseline) then waba, and the report gives medians")
	fs.IntVar(&o.PID, "pid", 0, "with --url: process id of the waba whose RSS to report (/proc/<pid>/status)")
	fs.StringVar(&o.WebhookAddr, "webhook-addr", "127.0.0.1:0", "listen address of the built-in webhook receiver")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "after the load, how long to wait at most for missing delivered webhooks")
	setupOn := fs.Bool("setup", true, "configure the waba for end to end first: webhooks to the built-in receiver with sent statuses, the recipients' receipt latency (--latency), and, when the mix has free-form kinds, one inbound message per recipient to open its 24-hour window (needs an admin user; with --url the previous webhook URL is restored at the end)")
	fs.StringVar(&o.Latency, "latency", "0", "recipients' delivered and read latency: 0 starts the in-process waba with receipt_latency 0s (with --url the server's receipt_latency decides), a positive duration is given to each recipient by the setup, \"default\" keeps the simulated network's own (delivered 0.2–1 s, read 1–3 s later)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the whole process over the first waba round's measured window to `file` (load-generator goroutines carry the label bench=loadgen)")
	fs.StringVar(&logLevel, "log-level", "warn", "in-process waba's log level on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "waba bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.URL != "" && o.Password == "" {
		o.Password = getenv("WABA_ADMIN_PASSWORD")
	}
	m, err := bench.ParseMix(mix)
	if err != nil {
		fmt.Fprintln(stderr, "waba bench:", err)
		return 2
	}
	o.Mix = m
	o.NoSetup = !*setupOn
	if o.Warmup == 0 {
		o.NoWarmup = true
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "waba bench: log-level %q: want debug, info, warn or error\n", logLevel)
		return 2
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("component", "waba")
	o.Progress = stderr
	o.ProgressTTY = bench.IsTerminal(stderr)
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "waba bench:", err)
		return 2
	}

	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			fmt.Fprintln(stderr, "waba bench:", err)
			return 1
		}
		defer func() {
			if err := f.Close(); err != nil {
				fmt.Fprintln(stderr, "waba bench: cpuprofile:", err)
			}
		}()
		o.CPUProfile = f
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "waba bench:", err)
		return 1
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "waba bench:", err)
		return 1
	}
	if rep.Interrupted {
		return 130
	}
	return 0
}
