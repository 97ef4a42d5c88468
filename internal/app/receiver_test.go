package app

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// receiver is a real webhook endpoint on 127.0.0.1 that records every POST it answers 200.
type receiver struct {
	t    *testing.T
	ln   net.Listener
	srv  *http.Server
	addr string

	mu     sync.Mutex
	bodies []map[string]any
	fail   int // answer this status instead of 200 while > 0
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.close)
	return r
}

// newReceiverAt starts a receiver on a given address (to bring a "down" endpoint back).
func newReceiverAt(t *testing.T, addr string) *receiver {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: addr}
	r.serve(ln)
	t.Cleanup(r.close)
	return r
}

func (r *receiver) serve(ln net.Listener) {
	r.ln = ln
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			w.WriteHeader(r.fail)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			r.t.Errorf("webhook body is not JSON: %s", raw)
		}
		r.bodies = append(r.bodies, body)
		w.WriteHeader(http.StatusOK)
	})}
	go r.srv.Serve(ln)
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *receiver) setFail(status int) {
	r.mu.Lock()
	r.fail = status
	r.mu.Unlock()
}

// statuses returns every status entry received for message id, in arrival order.
func (r *receiver) statuses(id string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, b := range r.bodies {
		list, _ := b["statuses"].([]any)
		for _, s := range list {
			if m := s.(map[string]any); m["id"] == id {
				out = append(out, m)
			}
		}
	}
	return out
}

// messagesFrom returns every inbound message entry from wa_id, with the contacts of its POST.
func (r *receiver) messagesFrom(waID string) (msgs []map[string]any, contacts []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bodies {
		list, _ := b["messages"].([]any)
		for _, m := range list {
			if mm := m.(map[string]any); mm["from"] == waID {
				msgs = append(msgs, mm)
				cs, _ := b["contacts"].([]any)
				for _, c := range cs {
					contacts = append(contacts, c.(map[string]any))
				}
			}
		}
	}
	return msgs, contacts
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}
