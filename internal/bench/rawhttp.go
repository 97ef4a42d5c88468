package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// loadConn is one worker's keep-alive HTTP/1.1 connection for the load itself (plain http://
// targets; https:// ones go through net/http). The load generator shares the two cores with
// the server it measures, the way wrk does in shared/reference/performance.md, so what it
// spends per request is taken from the server. net/http's client costs about 57 µs of CPU a
// request here (two goroutines per connection, a Request and a Response per call); this one
// writes a prepared request and reads the answer in the worker's own goroutine
// (docs/benchmarks.md, fifth session).
//
// It speaks just what a POST needs: the answer's status line and headers, and a body framed by
// Content-Length, chunked, or the end of the connection. Any error closes the connection; the
// next request dials again. Nothing is retried: a POST may have been taken.
type loadConn struct {
	addr    string
	head    []byte // request line and headers, up to the Content-Length value
	timeout time.Duration

	c   net.Conn
	br  *bufio.Reader
	buf []byte // the request being written
}

// newLoadConn prepares POSTs to rawURL (http://host:port/path) with the given headers.
func newLoadConn(rawURL string, headers [][2]string, timeout time.Duration) (*loadConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load connection: %q is not an http:// URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	head := []byte("POST " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	for _, h := range headers {
		head = append(head, h[0]+": "+h[1]+"\r\n"...)
	}
	head = append(head, "Content-Length: "...)
	return &loadConn{addr: addr, head: head, timeout: timeout}, nil
}

func (lc *loadConn) close() {
	if lc.c != nil {
		lc.c.Close()
		lc.c, lc.br = nil, nil
	}
}

// post sends body and reads the answer's body into resp; it returns the HTTP status.
func (lc *loadConn) post(body []byte, resp *bytes.Buffer) (int, error) {
	if lc.c == nil {
		c, err := net.DialTimeout("tcp", lc.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		lc.c, lc.br = c, bufio.NewReaderSize(c, 16<<10)
	}
	lc.buf = append(lc.buf[:0], lc.head...)
	lc.buf = strconv.AppendInt(lc.buf, int64(len(body)), 10)
	lc.buf = append(lc.buf, "\r\n\r\n"...)
	lc.buf = append(lc.buf, body...)
	if err := lc.c.SetDeadline(time.Now().Add(lc.timeout)); err != nil {
		lc.close()
		return 0, err
	}
	if _, err := lc.c.Write(lc.buf); err != nil {
		lc.close()
		return 0, err
	}
	status, keep, err := readAnswer(lc.br, resp)
	if err != nil {
		lc.close()
		return 0, err
	}
	if !keep {
		lc.close()
	}
	return status, nil
}

var errMalformed = errors.New("malformed HTTP answer")

// readAnswer reads one HTTP/1.1 answer from br: its status, whether the connection stays open,
// and its body into resp.
func readAnswer(br *bufio.Reader, resp *bytes.Buffer) (status int, keep bool, err error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, fmt.Errorf("read the answer: %w", err)
		}
		// "HTTP/1.1 201 Created"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
		length, chunked := int64(-1), false
		for {
			h, err := readLine(br)
			if err != nil {
				return 0, false, fmt.Errorf("read the answer's headers: %w", err)
			}
			if len(h) == 0 {
				break
			}
			colon := bytes.IndexByte(h, ':')
			if colon < 0 {
				return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
			}
			name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
					return 0, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
				}
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.EqualFold(value, []byte("chunked"))
			case bytes.EqualFold(name, []byte("Connection")):
				if bytes.EqualFold(value, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(value, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		if status >= 100 && status < 200 {
			continue // an interim answer (100 Continue): the real one follows
		}
		resp.Reset()
		switch {
		case status == 204 || status == 304:
		case chunked:
			err = readChunked(br, resp)
		case length >= 0:
			_, err = io.CopyN(resp, br, length)
		default:
			_, err = resp.ReadFrom(br) // delimited by the end of the connection
			keep = false
		}
		if err != nil {
			return 0, false, fmt.Errorf("read the answer's body: %w", err)
		}
		return status, keep, nil
	}
}

func readChunked(br *bufio.Reader, resp *bytes.Buffer) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				t, err := readLine(br)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(resp, br, n); err != nil {
			return err
		}
		if crlf, err := readLine(br); err != nil || len(crlf) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
}

// readLine returns one CRLF- (or LF-) terminated line without its terminator. The slice is only
// valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, br.Size())
	}
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
