package cloud

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParams(t *testing.T) {
	h := &Handler{maxBody: 1 << 10, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, c := range []struct {
		name, query, body, want string
	}{
		{"json", "", `{"override_callback_uri":"https://x/y","verify_token":"t","n":1}`, "override_callback_uri=https://x/y verify_token=t n=1"},
		{"form", "", "override_callback_uri=https%3A%2F%2Fx%2Fy&verify_token=t", "override_callback_uri=https://x/y verify_token=t"},
		{"query", "override_callback_uri=https%3A%2F%2Fq&verify_token=q&access_token=secret", "", "override_callback_uri=https://q verify_token=q"},
		{"body wins", "verify_token=q", `{"verify_token":"b"}`, "verify_token=b"},
		{"nested object stays JSON", "", `{"webhook_configuration":{"override_callback_uri":"u"}}`, `webhook_configuration={"override_callback_uri":"u"}`},
	} {
		r := httptest.NewRequest("POST", "/1?"+c.query, strings.NewReader(c.body))
		got, err := h.params(httptest.NewRecorder(), r)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, kv := range strings.Split(c.want, " ") {
			k, v, _ := strings.Cut(kv, "=")
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (all: %v)", c.name, k, got[k], v, got)
			}
		}
		if _, ok := got["access_token"]; ok {
			t.Errorf("%s: access_token kept as a parameter", c.name)
		}
	}
	if _, err := h.params(httptest.NewRecorder(), httptest.NewRequest("POST", "/1", strings.NewReader(`{"a":`))); err == nil {
		t.Error("broken JSON accepted")
	}
}

// FuzzParams: no body or query makes the parameter reader panic.
func FuzzParams(f *testing.F) {
	f.Add("a=b", `{"override_callback_uri":"https://x","verify_token":"t"}`)
	f.Add("", "override_callback_uri=%zz")
	f.Add("x=%", `{"webhook_configuration":{"a":[1,2]}}`)
	h := &Handler{maxBody: 1 << 12, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, query, body string) {
		r := httptest.NewRequest("POST", "/1", strings.NewReader(body))
		r.URL.RawQuery = query
		h.params(httptest.NewRecorder(), r)
	})
}
