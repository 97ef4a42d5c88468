// Package pgtest gives tests a brand-new, empty PostgreSQL database.
//
// The server comes from WABA_TEST_DATABASE_URL when it is set (every test gets its own database
// created in that server). Otherwise the first call to URL starts one throwaway server for the
// test process from the local PostgreSQL binaries (initdb, postgres, pg_ctl on PATH or under
// /usr/lib/postgresql/*/bin): a data directory in a temp dir, listening on 127.0.0.1 at a free
// port, trust authentication, fsync off. Main stops it and removes its directory when the tests
// end; the server is also started with a parent-death signal, so it cannot outlive a test
// binary that panics or times out.
//
// When no server can be had, tests that call URL are skipped with the reason, unless
// WABA_TEST_REQUIRE_POSTGRES=1, in which case they fail.
//
// A package that calls URL runs its tests through Main:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package.
const (
	EnvURL     = "WABA_TEST_DATABASE_URL"     // an existing server to create test databases in
	EnvRequire = "WABA_TEST_REQUIRE_POSTGRES" // "1": fail instead of skip when there is no server
)

var (
	serverOnce sync.Once
	srv        *server // the throwaway server, if this process started one
	adminURL   string  // where to CREATE DATABASE
	serverErr  error   // why there is no server
)

// URL returns a connection URL to a new, empty database that is dropped when tb ends.
func URL(tb testing.TB) string {
	tb.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			adminURL = u
			return
		}
		srv, serverErr = start()
		if serverErr == nil {
			adminURL = srv.url
		}
	})
	if serverErr != nil {
		msg := fmt.Sprintf("pgtest: NO POSTGRESQL SERVER, PostgreSQL tests not run: %v\n"+
			"\tSet %s=postgres://… to use an existing server, or install PostgreSQL (initdb, pg_ctl).", serverErr, EnvURL)
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%s\n\t%s=1 makes this a failure.", msg, EnvRequire)
		}
		tb.Skipf("%s\n\tSet %s=1 to make this a failure.", msg, EnvRequire)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "waba_test_" + randomHex(8)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer admin.Close(ctx)
	// template0: nobody is ever connected to it, so concurrent CREATE DATABASEs from several
	// test processes cannot fail with "source database is being accessed by other users".
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, name); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(adminURL, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

func dropDatabase(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// WITH (FORCE) (PostgreSQL 13+) ends sessions a test left open.
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42601" { // syntax error: an older server
		_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	}
	return err
}

// withDatabase returns base pointing at database name instead.
func withDatabase(base, name string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// A key=value connection string: a later dbname overrides an earlier one.
	return base + " dbname=" + name, nil
}

// Main runs the tests of a package that uses URL, then stops the server this process started
// and removes its files, and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop the test server: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// server is a PostgreSQL server run by this test process.
type server struct {
	dir     string // temp dir: data/, sockets, log
	bin     string // directory of initdb, postgres, pg_ctl
	cred    *syscall.Credential
	url     string
	exited  chan struct{} // closed when the postmaster has exited
	lock    *os.File      // flock held while this process owns dir
	mu      sync.Mutex
	waitErr error
}

func start() (*server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres system user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Under /tmp rather than $TMPDIR when switching users: the postgres user must be able to
	// reach the directory.
	parent := os.TempDir()
	if s.cred != nil {
		parent = "/tmp"
	}
	sweepStale(parent)
	s.dir, err = os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return nil, err
	}
	// Held for the life of this process: a directory whose lock is free belongs to a test
	// binary that died without cleaning up, and the next run removes it.
	s.lock, err = os.OpenFile(filepath.Join(s.dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("lock %s: %w", s.dir, err)
	}
	if err := os.Chmod(s.dir, 0o700); err != nil {
		s.cleanup()
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			s.cleanup()
			return nil, err
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "--pgdata="+data, "--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Another test process may take the port between our probe and the server's bind; then
	// try another one.
	var errs []error
	for range 5 {
		err := s.startPostmaster(data)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	s.cleanup()
	return nil, errors.Join(errs...)
}

func (s *server) startPostmaster(data string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = s.env()
	// SIGQUIT is PostgreSQL's immediate shutdown: sent by the kernel when this process dies
	// without running Main's cleanup (a panic, a test timeout, a kill).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}

	// The parent-death signal fires when the thread that forked the child exits, so fork from
	// a goroutine locked to its thread that stays alive, waiting, as long as the server runs.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
		// The thread stays locked and exits with this goroutine: the child is gone already.
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = exited
	s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.url)
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			s.mu.Lock()
			werr := s.waitErr
			s.mu.Unlock()
			return fmt.Errorf("postgres exited at start on port %d: %v\n%s", port, werr, tail(log))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections on port %d within a minute: %v\n%s", port, err, tail(log))
		}
	}
}

// stop shuts the server down at once (pg_ctl stop -m immediate: no checkpoint, the data is
// thrown away) and removes its directory.
func (s *server) stop() error {
	var errs []error
	out, err := s.run("pg_ctl", "stop", "--pgdata="+filepath.Join(s.dir, "data"), "--mode=immediate", "--wait", "--timeout=60")
	if err != nil {
		errs = append(errs, fmt.Errorf("pg_ctl stop: %w\n%s", err, out))
		s.kill()
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		errs = append(errs, errors.New("postgres did not exit"))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	s.lock.Close()
	return errors.Join(errs...)
}

// kill sends the postmaster SIGQUIT (immediate shutdown) and waits for it to exit.
func (s *server) kill() {
	pid, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(pid), "\n")
	if n, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && n > 0 {
		syscall.Kill(n, syscall.SIGQUIT)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
	}
}

func (s *server) cleanup() {
	os.RemoveAll(s.dir)
	if s.lock != nil {
		s.lock.Close()
	}
}

const (
	dirPrefix = "waba-pgtest-"
	lockName  = "owner.lock"
)

// sweepStale removes the directories of earlier test processes that died without running
// Main's cleanup: their lock is free. Recent directories are left alone, since their owner
// may not have taken its lock yet.
func sweepStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		f, err := os.Open(filepath.Join(d, lockName))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(d)
		}
		f.Close()
	}
}

// run runs one of the server's binaries, as the postgres user when we are root.
func (s *server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Env = s.env()
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (s *server) env() []string {
	env := []string{"LC_ALL=C", "TZ=UTC", "PATH=" + os.Getenv("PATH")}
	if s.cred != nil {
		env = append(env, "HOME="+s.dir, "USER=postgres", "LOGNAME=postgres")
	} else if h := os.Getenv("HOME"); h != "" {
		env = append(env, "HOME="+h)
	}
	return env
}

// findBinaries returns the directory holding initdb, postgres and pg_ctl of one installation:
// where initdb on PATH really lives, else the highest version under /usr/lib/postgresql.
func findBinaries() (string, error) {
	complete := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && complete(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if complete(d) {
			return d, nil
		}
	}
	return "", errors.New("no initdb, postgres and pg_ctl found on PATH or in /usr/lib/postgresql/*/bin")
}

// version returns the major version in /usr/lib/postgresql/<version>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte) string {
	const limit = 4000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}
