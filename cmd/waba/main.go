// Command waba is a self-hosted WhatsApp Business API: the On-Premises /v1 API over an embedded
// SQLite (or a shared PostgreSQL) store.
//
//	waba [serve] [flags]   start the server (the default)
//	waba migrate [flags]   apply database migrations and exit
//	waba healthcheck       exit 0 only when /healthz answers OK
//	waba bench [flags]     load-test a waba and report throughput and latency
//	waba version           print the version
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/openwaba/waba/internal/app"
	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/tlsutil"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the module
// version or "dev".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	tuneGC(getenv)
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, getenv, stdout, stderr)
	case "migrate":
		return migrate(args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, getenv, stdout, stderr)
	case "bench":
		return benchCmd(args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "waba", versionString())
		return 0
	case "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "waba: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
}

// tuneGC trades memory for CPU. waba's live heap is small (tens of MiB) and most of what it
// allocates lives for one request or one dispatch round, so Go's default (collect when the heap
// has grown by 100 %) runs the collector very often under load. 400 % measured 15–20 % more
// end-to-end throughput for about 40 MiB more RSS (docs/benchmarks.md, session 4); a soft limit
// of 1 GiB makes the collector work harder before the heap could grow past it. GOGC and
// GOMEMLIMIT in the environment win, as they do for any Go program.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

const usage = `usage:
  waba [serve] [flags]   start the server (default; see waba serve -h)
  waba migrate [flags]   apply database migrations and exit
  waba healthcheck       exit 0 only when /healthz answers OK (uses --addr / WABA_ADDR; HTTPS with --tls)
  waba bench [flags]     load-test a waba (or a fresh in-process one) and report (see waba bench -h)
  waba version           print the version`

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// loadConfig loads the configuration; on failure it prints every problem and returns exit 2.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config.Config, int) {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "waba:", err)
		return cfg, 2
	}
	return cfg, -1
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, getenv, stderr)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, log, stdout); err != nil {
		log.Error("waba stopped with an error", "err", err)
		return 1
	}
	return 0
}

func migrate(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, getenv, stderr)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := app.OpenStore(ctx, cfg, log) // opening applies every pending migration
	if err != nil {
		fmt.Fprintln(stderr, "waba migrate:", err)
		return 1
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		fmt.Fprintln(stderr, "waba migrate:", err)
		return 1
	}
	fmt.Fprintln(stdout, "waba: database is up to date")
	return 0
}

func healthcheck(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig(args, getenv, stderr)
	if code >= 0 {
		return code
	}
	client := &http.Client{Timeout: 5 * time.Second}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1" // a wildcard listener is reachable on loopback
	}
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: healthcheckRoots(cfg)}}
	}
	resp, err := client.Get(scheme + "://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "waba healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "waba healthcheck: %s %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// healthcheckRoots trusts what a client of this configuration would: the system pool, the
// generated tls/ca.pem and, with --tls-cert, the certificates in that file. The certificate
// is verified like any client verifies it.
func healthcheckRoots(cfg config.Config) *x509.CertPool {
	pool := tlsutil.Pool(nil)
	for _, f := range []string{filepath.Join(tlsutil.Dir(cfg.Data), tlsutil.CAFile), cfg.TLSCert} {
		if f == "" {
			continue
		}
		if pemText, err := os.ReadFile(f); err == nil {
			pool.AppendCertsFromPEM(pemText)
		}
	}
	return pool
}
