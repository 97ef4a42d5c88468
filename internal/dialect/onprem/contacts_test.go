package onprem

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// The inputs of Meta's example (§6.1) plus ones that do not normalise.
const contactsBody = `{"contacts":["16315551000","+1 631 555 1001","6315551002","+1 (631) 555-1004","1-631-555-1005",` +
	`"0044 20 7946 0000","+163155588","not a number","+1 631 555","16315551000x12"]`

func TestContacts(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*fakeNetwork)
		body  string
		want  string
	}{
		{
			name: "every input format, no_wait by default",
			body: contactsBody + `}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"valid","wa_id":"16315551000"},
				{"input":"+1 631 555 1001","status":"valid","wa_id":"16315551001"},
				{"input":"6315551002","status":"valid","wa_id":"6315551002"},
				{"input":"+1 (631) 555-1004","status":"valid","wa_id":"16315551004"},
				{"input":"1-631-555-1005","status":"valid","wa_id":"16315551005"},
				{"input":"0044 20 7946 0000","status":"valid","wa_id":"442079460000"},
				{"input":"+163155588","status":"valid","wa_id":"163155588"},
				{"input":"not a number","status":"invalid"},
				{"input":"+1 631 555","status":"invalid"},
				{"input":"16315551000x12","status":"invalid"}]}`,
		},
		{
			name: "blocking wait, network up: the same answers",
			body: `{"blocking":"wait","force_check":false,"contacts":["+1 (631) 555-1004","1-631-555-1005","nope"]}`,
			want: `{"contacts":[
				{"input":"+1 (631) 555-1004","status":"valid","wa_id":"16315551004"},
				{"input":"1-631-555-1005","status":"valid","wa_id":"16315551005"},
				{"input":"nope","status":"invalid"}]}`,
		},
		{
			name: "force_check true changes nothing",
			body: `{"blocking":"no_wait","force_check":true,"contacts":["16315551000"]}`,
			want: `{"contacts":[{"input":"16315551000","status":"valid","wa_id":"16315551000"}]}`,
		},
		{
			// v2.43+: valid with a wa_id whether or not the number is on WhatsApp.
			name:  "a number that is not on WhatsApp is still valid",
			setup: func(f *fakeNetwork) { f.notUsers["16315559999"] = true },
			body:  `{"blocking":"wait","contacts":["+1 631 555 9999"]}`,
			want:  `{"contacts":[{"input":"+1 631 555 9999","status":"valid","wa_id":"16315559999"}]}`,
		},
		{
			name:  "network down, no_wait: processing without wa_id",
			setup: func(f *fakeNetwork) { f.down = true },
			body:  `{"contacts":["16315551000","+1 631 555 1001","bad"]}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"processing"},
				{"input":"+1 631 555 1001","status":"processing"},
				{"input":"bad","status":"invalid"}]}`,
		},
		{
			name:  "network down, wait: failed without wa_id",
			setup: func(f *fakeNetwork) { f.down = true },
			body:  `{"blocking":"wait","contacts":["16315551000","+1 631 555 1001","bad"]}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"failed"},
				{"input":"+1 631 555 1001","status":"failed"},
				{"input":"bad","status":"invalid"}]}`,
		},
		{
			name:  "one number's check fails, wait",
			setup: func(f *fakeNetwork) { f.failing["16315551001"] = true },
			body:  `{"blocking":"wait","contacts":["16315551000","+1 631 555 1001"]}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"valid","wa_id":"16315551000"},
				{"input":"+1 631 555 1001","status":"failed"}]}`,
		},
		{
			name:  "one number's check fails, no_wait",
			setup: func(f *fakeNetwork) { f.failing["16315551001"] = true },
			body:  `{"blocking":"no_wait","contacts":["16315551000","+1 631 555 1001"]}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"valid","wa_id":"16315551000"},
				{"input":"+1 631 555 1001","status":"processing"}]}`,
		},
		{
			name: "duplicates each get an entry, in order",
			body: `{"contacts":["16315551000","+1 631 555 1000","16315551000"]}`,
			want: `{"contacts":[
				{"input":"16315551000","status":"valid","wa_id":"16315551000"},
				{"input":"+1 631 555 1000","status":"valid","wa_id":"16315551000"},
				{"input":"16315551000","status":"valid","wa_id":"16315551000"}]}`,
		},
		{
			name: "unknown top-level fields are ignored",
			body: `{"contacts":["16315551000"],"extra":1}`,
			want: `{"contacts":[{"input":"16315551000","status":"valid","wa_id":"16315551000"}]}`,
		},
	}
	base := newNetBase(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := base.env()
			if c.setup != nil {
				c.setup(e.net)
			}
			r := e.do(t, netReq{method: http.MethodPost, path: "/v1/contacts", body: c.body, token: e.token})
			wantNetJSON(t, r, http.StatusOK, c.want[:len(c.want)-1]+`,"meta":`+netMeta+`}`)
		})
	}
}

// The network is asked once per distinct wa_id, and never about input that does not normalise.
func TestContactsAsksTheNetworkOncePerNumber(t *testing.T) {
	e := newNetEnv(t)
	r := e.do(t, netReq{method: http.MethodPost, path: "/v1/contacts", token: e.token,
		body: `{"contacts":["16315551000","+1 631 555 1000","bad","1-631-555-1005"]}`})
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	if got, want := e.net.calls(), []string{"16315551000", "16315551005"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("IsUser calls = %q, want %q", got, want)
	}
}

func TestContactsErrors(t *testing.T) {
	cases := []struct {
		name        string
		method      string
		body        string
		contentType string
		status      int
		code        int
		title       string
		details     string
	}{
		{"contacts missing", "", `{"blocking":"wait"}`, "", 400, 1008, tMissing,
			"Missing mandatory parameter 'contacts'"},
		{"empty object", "", `{}`, "", 400, 1008, tMissing,
			"Missing mandatory parameter 'contacts'"},
		{"contacts a string", "", `{"contacts":"16315551000"}`, "", 400, 1009, tInvalid,
			`Parameter 'contacts' has to be an array of phone numbers, e.g. ["+1 631 555 1001"]`},
		{"contacts an object", "", `{"contacts":{"a":"16315551000"}}`, "", 400, 1009, tInvalid,
			`Parameter 'contacts' has to be an array of phone numbers, e.g. ["+1 631 555 1001"]`},
		{"contacts null", "", `{"contacts":null}`, "", 400, 1009, tInvalid,
			`Parameter 'contacts' has to be an array of phone numbers, e.g. ["+1 631 555 1001"]`},
		{"contacts empty", "", `{"contacts":[]}`, "", 400, 1009, tInvalid,
			"Parameter 'contacts' must have at least one entry"},
		{"entry a number", "", `{"contacts":["16315551000",16315551001]}`, "", 400, 1009, tInvalid,
			"Parameter 'contacts' entry 1 is 16315551001, not a string; write each phone number as a JSON string"},
		{"entry null", "", `{"contacts":[null]}`, "", 400, 1009, tInvalid,
			"Parameter 'contacts' entry 0 is null, not a string; write each phone number as a JSON string"},
		{"blocking unknown", "", `{"blocking":"later","contacts":["16315551000"]}`, "", 400, 1009, tInvalid,
			"Parameter 'blocking' has invalid value 'later'; use 'wait' or 'no_wait'"},
		{"blocking a bool", "", `{"blocking":true,"contacts":["16315551000"]}`, "", 400, 1009, tInvalid,
			"Parameter 'blocking' has invalid value 'true'; use 'wait' or 'no_wait'"},
		{"blocking null", "", `{"blocking":null,"contacts":["16315551000"]}`, "", 400, 1009, tInvalid,
			"Parameter 'blocking' has invalid value 'null'; use 'wait' or 'no_wait'"},
		{"blocking checked before contacts", "", `{"blocking":"WAIT"}`, "", 400, 1009, tInvalid,
			"Parameter 'blocking' has invalid value 'WAIT'; use 'wait' or 'no_wait'"},
		{"force_check a string", "", `{"contacts":["16315551000"],"force_check":"yes"}`, "", 400, 1009, tInvalid,
			"Parameter 'force_check' has invalid value 'yes'; use true or false"},
		{"force_check null", "", `{"contacts":["16315551000"],"force_check":null}`, "", 400, 1009, tInvalid,
			"Parameter 'force_check' has invalid value 'null'; use true or false"},
		{"not JSON", "", `{"contacts":[`, "", 400, 1025, tRequest,
			"Request body is not valid JSON: unexpected end of JSON input"},
		{"no content type", "", `{"contacts":["16315551000"]}`, "-", 400, 1025, tRequest,
			`Content-Type must be application/json (got "")`},
		{"wrong content type", "", `{"contacts":["16315551000"]}`, "text/plain", 400, 1025, tRequest,
			`Content-Type must be application/json (got "text/plain")`},
		{"GET", http.MethodGet, "", "", 405, 1025, tRequest,
			"Method GET is not allowed on /v1/contacts; use POST"},
	}
	base := newNetBase(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := base.env()
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			r := e.do(t, netReq{method: method, path: "/v1/contacts", body: c.body, contentType: c.contentType, token: e.token})
			wantNetError(t, r, c.status, c.code, c.title, c.details)
			if c.status == 405 && r.header.Get("Allow") != "POST" {
				t.Fatalf("Allow = %q", r.header.Get("Allow"))
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	const path = "/v1/contacts/16315551000/identity"
	created := time.UnixMilli(1600132094000)
	base := newNetBase(t)
	setup := func(t *testing.T) *netEnv {
		e := base.env()
		e.net.identities["16315551000"] = Identity{Hash: "UKD6Y/5SqDU=", CreatedAt: created}
		e.net.identities["16315552000"] = Identity{Hash: "Rc/eg9RQ0JA=", CreatedAt: created, Acknowledged: true}
		e.net.identities["16315553000"] = Identity{Hash: "AAAAAAAAAAA="} // no creation time
		return e
	}

	t.Run("GET: the contacts object of Meta's example", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: path, token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"contacts":{"hash":"UKD6Y/5SqDU=","created_timestamp":1600132094000,"acknowledged":false},"meta":`+netMeta+`}`)
	})
	t.Run("GET acknowledged", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/contacts/16315552000/identity", token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"contacts":{"hash":"Rc/eg9RQ0JA=","created_timestamp":1600132094000,"acknowledged":true},"meta":`+netMeta+`}`)
	})
	t.Run("GET without a creation time: 0", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/contacts/16315553000/identity", token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"contacts":{"hash":"AAAAAAAAAAA=","created_timestamp":0,"acknowledged":false},"meta":`+netMeta+`}`)
	})
	t.Run("GET with a formatted number in the path", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/contacts/+1-631-555-1000/identity", token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"contacts":{"hash":"UKD6Y/5SqDU=","created_timestamp":1600132094000,"acknowledged":false},"meta":`+netMeta+`}`)
	})
	t.Run("GET unknown user", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/contacts/16315559999/identity", token: e.token})
		wantNetError(t, r, http.StatusNotFound, 1006, tNotFound, "No WhatsApp user 16315559999")
	})
	t.Run("GET not a wa_id", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodGet, path: "/v1/contacts/alice/identity", token: e.token})
		wantNetError(t, r, http.StatusNotFound, 1006, tNotFound,
			"No WhatsApp user 'alice': the path needs the user's wa_id, e.g. /v1/contacts/16315551000/identity")
	})
	t.Run("PUT the current hash, then GET shows it acknowledged", func(t *testing.T) {
		e := setup(t)
		r := e.do(t, netReq{method: http.MethodPut, path: path, body: `{"hash":"UKD6Y/5SqDU="}`, token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"meta":`+netMeta+`}`)
		r = e.do(t, netReq{method: http.MethodGet, path: path, token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"contacts":{"hash":"UKD6Y/5SqDU=","created_timestamp":1600132094000,"acknowledged":true},"meta":`+netMeta+`}`)
		// Acknowledging again is fine.
		r = e.do(t, netReq{method: http.MethodPut, path: path, body: `{"hash":"UKD6Y/5SqDU="}`, token: e.token})
		wantNetJSON(t, r, http.StatusOK, `{"meta":`+netMeta+`}`)
	})

	errs := []struct {
		name, path, body    string
		status, code        int
		title, details      string
		contentType, method string
	}{
		{name: "PUT wrong hash", body: `{"hash":"Rc/eg9RQ0JA="}`, status: 400, code: 1009, title: tInvalid,
			details: "Parameter 'hash' does not match the current identity of 16315551000"},
		{name: "PUT missing hash", body: `{}`, status: 400, code: 1008, title: tMissing,
			details: "Missing mandatory parameter 'hash'; send the hash from GET /v1/contacts/16315551000/identity"},
		{name: "PUT null hash", body: `{"hash":null}`, status: 400, code: 1008, title: tMissing,
			details: "Missing mandatory parameter 'hash'; send the hash from GET /v1/contacts/16315551000/identity"},
		{name: "PUT empty hash", body: `{"hash":" "}`, status: 400, code: 1009, title: tInvalid,
			details: "Parameter 'hash' is empty; send the hash from GET /v1/contacts/16315551000/identity"},
		{name: "PUT hash not a string", body: `{"hash":123}`, status: 400, code: 1009, title: tInvalid,
			details: "Parameter 'hash' has the wrong type: want string"},
		{name: "PUT unknown user", path: "/v1/contacts/16315559999/identity", body: `{"hash":"x"}`, status: 404, code: 1006,
			title: tNotFound, details: "No WhatsApp user 16315559999"},
		{name: "PUT not JSON", body: `hash=x`, status: 400, code: 1025, title: tRequest,
			details: "Request body is not valid JSON: invalid character 'h' looking for beginning of value"},
		{name: "PUT wrong content type", body: `{"hash":"x"}`, contentType: "text/plain", status: 400, code: 1025, title: tRequest,
			details: `Content-Type must be application/json (got "text/plain")`},
		{name: "DELETE", method: http.MethodDelete, status: 405, code: 1025, title: tRequest,
			details: "Method DELETE is not allowed on /v1/contacts/16315551000/identity; use GET or PUT"},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			p, m := c.path, c.method
			if p == "" {
				p = path
			}
			if m == "" {
				m = http.MethodPut
			}
			r := e.do(t, netReq{method: m, path: p, body: c.body, contentType: c.contentType, token: e.token})
			wantNetError(t, r, c.status, c.code, c.title, c.details)
		})
	}
	t.Run("a wrong hash leaves it unacknowledged", func(t *testing.T) {
		e := setup(t)
		e.do(t, netReq{method: http.MethodPut, path: path, body: `{"hash":"nope"}`, token: e.token})
		if e.net.identities["16315551000"].Acknowledged {
			t.Fatalf("acknowledged by a wrong hash")
		}
	})
}

// FuzzContactsRequest: any body either fails with a catalogue error that has details (1025 or
// 1009 from decoding, 1008 or 1009 from validation), or yields at least one input.
func FuzzContactsRequest(f *testing.F) {
	for _, s := range []string{
		contactsBody + `}`,
		`{"blocking":"wait","contacts":["+1 (631) 555-1004"],"force_check":true}`,
		`{"contacts":[]}`, `{"contacts":null}`, `{"contacts":[1]}`, `{"blocking":null}`, `[]`, `null`, `{"contacts":["` + "\u00e9" + `"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req contactsRequest
		if err := decodeJSON(body, &req); err != nil {
			if e, ok := waerr.As(err); !ok || (e.Cond != waerr.InvalidRequest && e.Cond != waerr.InvalidParam) {
				t.Fatalf("decode error %v is not 1025/1009", err)
			}
			return
		}
		_, inputs, err := req.parse()
		if err != nil {
			if e, ok := waerr.As(err); !ok || (e.Cond != waerr.MissingParam && e.Cond != waerr.InvalidParam) || e.Details == "" {
				t.Fatalf("parse error %v is not 1008/1009 with details", err)
			}
			return
		}
		if len(inputs) == 0 {
			t.Fatalf("accepted %q with no inputs", body)
		}
		for _, in := range inputs {
			if waID, ok := wa.NormalizePhone(in); ok && waID == "" {
				t.Fatalf("%q normalised to nothing", in)
			}
		}
	})
}
