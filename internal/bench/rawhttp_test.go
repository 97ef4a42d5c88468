package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The load connection against a real net/http server: the request arrives as sent (path,
// headers, body), and the answer is read whatever its framing — Content-Length, chunked, or
// the end of a connection the server closes — on one connection kept alive where allowed.
func TestLoadConnAgainstNetHTTP(t *testing.T) {
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer t0k" || r.Header.Get("Content-Type") != "application/json" ||
			r.ContentLength != int64(len(body)) || r.URL.RawQuery != "a=1" {
			http.Error(w, "bad request "+r.Header.Get("Authorization"), http.StatusBadRequest)
			return
		}
		switch string(body) {
		case `{"framing":"length"}`:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"messages":[{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPrU"}]}`)
		case `{"framing":"chunked"}`:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"part":1,`)
			w.(http.Flusher).Flush()
			io.WriteString(w, `"part":2}`)
		case `{"framing":"close"}`:
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"errors":[{"code":1015}]}`)
		case `{"framing":"none"}`:
			w.WriteHeader(http.StatusNoContent)
		case `{"framing":"hangup"}`:
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	lc, err := newLoadConn(srv.URL+"/v1/messages?a=1", [][2]string{{"Content-Type", "application/json"}, {"Authorization", "Bearer t0k"}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	var resp bytes.Buffer
	steps := []struct {
		framing    string
		status     int
		body       string
		err        bool
		totalConns int64 // connections the server has seen after the step
	}{
		{"length", 201, `{"messages":[{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPrU"}]}`, false, 1},
		{"chunked", 201, `{"part":1,"part":2}`, false, 1},
		{"length", 201, `{"messages":[{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPrU"}]}`, false, 1},
		{"none", 204, ``, false, 1},
		{"close", 429, `{"errors":[{"code":1015}]}`, false, 1},
		{"length", 201, `{"messages":[{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPrU"}]}`, false, 2}, // dialled again
		{"hangup", 0, ``, true, 2},
		{"chunked", 201, `{"part":1,"part":2}`, false, 3},
	}
	for i, s := range steps {
		status, err := lc.post([]byte(`{"framing":"`+s.framing+`"}`), &resp)
		if s.err {
			if err == nil {
				t.Fatalf("step %d (%s): status %d, want a transport error", i, s.framing, status)
			}
		} else {
			if err != nil {
				t.Fatalf("step %d (%s): %v", i, s.framing, err)
			}
			if status != s.status || resp.String() != s.body {
				t.Fatalf("step %d (%s): %d %q, want %d %q", i, s.framing, status, resp.String(), s.status, s.body)
			}
		}
		if got := conns.Load(); got != s.totalConns {
			t.Fatalf("step %d (%s): the server has seen %d connections, want %d", i, s.framing, got, s.totalConns)
		}
	}
}

func TestReadAnswer(t *testing.T) {
	for _, c := range []struct {
		name, in string
		status   int
		keep     bool
		body     string
		err      error
	}{
		{"length", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", 201, true, "{}", nil},
		{"lf only", "HTTP/1.1 400 Bad Request\ncontent-length: 3\n\nabc", 400, true, "abc", nil},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, false, "x", nil},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 200, true, "x", nil},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, false, "all of it", nil},
		{"chunk extension and trailer", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 201, true, "abc", nil},
		{"interim answer first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 201, true, "", nil},
		{"short body", "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nab", 0, false, "", io.EOF},
		{"not http", "SSH-2.0-OpenSSH_9.2\r\n", 0, false, "", errMalformed},
		{"bad status", "HTTP/1.1 2x1 Created\r\n\r\n", 0, false, "", errMalformed},
		{"bad length", "HTTP/1.1 201 Created\r\nContent-Length: -1\r\n\r\n", 0, false, "", errMalformed},
		{"bad chunk", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, false, "", errMalformed},
		{"header without colon", "HTTP/1.1 201 Created\r\nbroken\r\n\r\n", 0, false, "", errMalformed},
		{"nothing", "", 0, false, "", io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp bytes.Buffer
			status, keep, err := readAnswer(bufio.NewReader(strings.NewReader(c.in)), &resp)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || status != c.status || keep != c.keep || resp.String() != c.body {
				t.Fatalf("= %d keep=%v %q %v, want %d keep=%v %q", status, keep, resp.String(), err, c.status, c.keep, c.body)
			}
		})
	}
}

func TestNewLoadConnRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:1/v1/messages", "127.0.0.1:1", "http:///x"} {
		if _, err := newLoadConn(u, nil, time.Second); err == nil {
			t.Errorf("newLoadConn(%q) accepted it", u)
		}
	}
}
