package onprem

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Contact statuses of POST /v1/contacts (shared/reference/onprem-api.md §6.1).
const (
	contactValid      = "valid"
	contactInvalid    = "invalid"
	contactProcessing = "processing"
	contactFailed     = "failed"
)

// Values of `blocking` (§6.1); no_wait is the default.
const (
	blockingWait   = "wait"
	blockingNoWait = "no_wait"
)

// contactResult is one entry of the response's `contacts`. Example (§6.1):
//
//	{ "input": "16315551000", "status": "valid", "wa_id": "16315551000" }
//
// `wa_id` is present only when the status is valid (§6.1 field table). Meta's page shows one
// `processing` example with a wa_id as well; waba follows the table, which is also what clients
// rely on: a missing wa_id means "do not send yet" (§17, postmangovsg).
type contactResult struct {
	Input  string `json:"input"`
	Status string `json:"status"`
	WaID   string `json:"wa_id,omitempty"`
}

// contacts: POST /v1/contacts {"blocking","contacts":[…],"force_check"} → 200
// {"contacts":[{input,status,wa_id?}],"meta"} (§6.1).
//
// How each input gets its status. waba reports client version v2.45.1 (envelope.go), and from
// v2.43 Meta repurposed the endpoint: it no longer tells whether a number is on WhatsApp and
// always answers status valid with a wa_id (§6.1 "v2.43+", Meta's contacts page). So:
//
//   - invalid: the input is not a phone number at all (wa.NormalizePhone rejects it: letters,
//     too few or too many digits, a leading 0 …). No wa_id can be formed, so not even v2.43+
//     can answer valid. (What Meta answers for such input is UNCONFIRMED.)
//   - valid + wa_id: the input normalises and the network answered for it, whether or not the
//     number is a WhatsApp user (the v2.43+ rule). A message to a number that is not on
//     WhatsApp is accepted and fails later, by the network's rules, exactly as Meta warns.
//   - processing (no_wait only, as §6.1 says): the number normalises but the network could not
//     answer for it (Network.IsUser returned an error: the network is down in the sandbox, or a
//     failure was injected for that number). With no_wait the client is told the check is still
//     under way and should ask again.
//   - failed (wait): the same situation when the client asked to wait for the answer: the check
//     could not complete.
//
// waba never answers processing for a healthy network, not even on the first check of a number:
// since v2.43 there is no lookup to wait for, and a sandbox that made every first check
// `processing` would only get in the way. processing and failed exist so that clients can test
// their handling of them by taking the network down.
//
// force_check is validated (a bool) and otherwise has no effect: waba keeps no contacts cache,
// every check asks the network. Each input gets one entry, in request order, duplicates included.
func (h *netRoutes) contacts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	var req contactsRequest
	if err := h.readJSON(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	wait, inputs, err := req.parse()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]contactResult, len(inputs))
	checked := map[string]error{} // one network question per distinct wa_id
	for i, in := range inputs {
		out[i].Input = in
		waID, ok := wa.NormalizePhone(in)
		if !ok {
			out[i].Status = contactInvalid
			continue
		}
		err, done := checked[waID]
		if !done {
			_, err = h.net.IsUser(r.Context(), waID)
			if err != nil && r.Context().Err() != nil {
				return // the client went away
			}
			checked[waID] = err
		}
		switch {
		case err == nil:
			out[i].Status, out[i].WaID = contactValid, waID
		case wait:
			h.log.Debug("contact check failed", "err", err)
			out[i].Status = contactFailed
		default:
			h.log.Debug("contact check still processing", "err", err)
			out[i].Status = contactProcessing
		}
	}
	writePayload(w, http.StatusOK, "contacts", out)
}

// contactsRequest is the body of POST /v1/contacts (§6.1):
//
//	{ "blocking": "wait", "contacts": [ "16315551000", "+1 631 555 1001" ], "force_check": false }
//
// The fields stay raw so that a missing parameter, a null and a wrong type can be told apart.
type contactsRequest struct {
	Blocking   json.RawMessage `json:"blocking"`
	Contacts   json.RawMessage `json:"contacts"`
	ForceCheck json.RawMessage `json:"force_check"`
}

// parse validates the three parameters the way the WebApp does (ContactsController: `blocking`
// optional with allowed values, `contacts` mandatory, an array, at least one entry), with
// details that say how to fix the request. It returns whether the client asked to wait, and the
// inputs.
func (req contactsRequest) parse() (bool, []string, error) {
	blocking, contacts, forceCheck := req.Blocking, req.Contacts, req.ForceCheck
	wait := false
	if blocking != nil {
		var b string
		if json.Unmarshal(blocking, &b) != nil || (b != blockingWait && b != blockingNoWait) {
			return false, nil, waerr.New(waerr.InvalidParam, "Parameter 'blocking' has invalid value '%s'; use 'wait' or 'no_wait'", rawText(blocking))
		}
		wait = b == blockingWait
	}
	if contacts == nil {
		return false, nil, waerr.New(waerr.MissingParam, "Missing mandatory parameter 'contacts'")
	}
	var items []json.RawMessage
	if bytes.Equal(contacts, []byte("null")) || json.Unmarshal(contacts, &items) != nil {
		return false, nil, waerr.New(waerr.InvalidParam, `Parameter 'contacts' has to be an array of phone numbers, e.g. ["+1 631 555 1001"]`)
	}
	if len(items) == 0 {
		return false, nil, waerr.New(waerr.InvalidParam, "Parameter 'contacts' must have at least one entry")
	}
	inputs := make([]string, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &inputs[i]); err != nil || bytes.Equal(it, []byte("null")) {
			return false, nil, waerr.New(waerr.InvalidParam, "Parameter 'contacts' entry %d is %s, not a string; write each phone number as a JSON string", i, rawText(it))
		}
	}
	if forceCheck != nil {
		var fc bool
		if err := json.Unmarshal(forceCheck, &fc); err != nil || bytes.Equal(forceCheck, []byte("null")) {
			return false, nil, waerr.New(waerr.InvalidParam, "Parameter 'force_check' has invalid value '%s'; use true or false", rawText(forceCheck))
		}
	}
	return wait, inputs, nil
}

// rawText renders a JSON value for an error's details: strings without their quotes, anything
// else as written, shortened so a huge value cannot flood the answer.
func rawText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	if r := []rune(s); len(r) > 64 {
		s = string(r[:61]) + "..."
	}
	return s
}

// identityPayload is the `contacts` object of GET /v1/contacts/{wa_id}/identity. Meta's
// example (§6.2, and the v2.45.1 Postman collection):
//
//	{"contacts":{"hash":"UKD6Y/5SqDU=","created_timestamp":1600132094000,"acknowledged":true},"meta":{…}}
//
// Whether `contacts` is an object or an array is UNCONFIRMED (§19.8). waba answers the object:
// it is what both of Meta's examples show, including the response recorded from v2.45.1, the
// version waba reports. `created_timestamp` is in milliseconds; `acknowledged` is documented as
// String but shown as a bool, and waba sends the bool of the example.
type identityPayload struct {
	Hash             string `json:"hash"`
	CreatedTimestamp int64  `json:"created_timestamp"`
	Acknowledged     bool   `json:"acknowledged"`
}

// identity: GET and PUT /v1/contacts/{wa_id}/identity (§6.2).
//
// GET → 200 with the object above. PUT {"hash":"…"} acknowledges the user's current identity
// and lifts the 1028 block on sends to them → 200 with `meta` only ("200 OK with a null or {}
// body"; waba writes `meta` as every other empty On-Prem answer does). A missing hash is 1008, a
// hash that is not the current one 1009, an unknown user 1006.
func (h *netRoutes) identity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPut {
		h.methodNotAllowed(w, r, http.MethodGet, http.MethodPut)
		return
	}
	raw := r.PathValue("wa_id")
	waID, ok := wa.NormalizePhone(raw)
	if !ok {
		h.writeError(w, r, waerr.New(waerr.NotFound, "No WhatsApp user '%s': the path needs the user's wa_id, e.g. /v1/contacts/16315551000/identity", raw))
		return
	}
	if r.Method == http.MethodGet {
		id, err := h.net.Identity(r.Context(), waID)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		out := identityPayload{Hash: id.Hash, Acknowledged: id.Acknowledged}
		if !id.CreatedAt.IsZero() { // a network without a creation time: 0, not year 1
			out.CreatedTimestamp = id.CreatedAt.UnixMilli()
		}
		writePayload(w, http.StatusOK, "contacts", out)
		return
	}
	var req struct {
		Hash *string `json:"hash"`
	}
	if err := h.readJSON(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case req.Hash == nil:
		h.writeError(w, r, waerr.New(waerr.MissingParam, "Missing mandatory parameter 'hash'; send the hash from GET /v1/contacts/%s/identity", waID))
		return
	case strings.TrimSpace(*req.Hash) == "":
		h.writeError(w, r, waerr.New(waerr.InvalidParam, "Parameter 'hash' is empty; send the hash from GET /v1/contacts/%s/identity", waID))
		return
	}
	if err := h.net.AckIdentity(r.Context(), waID, *req.Hash); err != nil {
		h.writeError(w, r, err)
		return
	}
	writePayload(w, http.StatusOK, "", nil)
}
