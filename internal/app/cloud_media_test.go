package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
	"github.com/openwaba/waba/internal/media"
)

const (
	cmPhoneID = "106540352242922"
	cmToken   = "EAAG-test-token-0123456789"
)

// mediaIDShape is a Cloud media id: a numeric string (media.GraphID).
var mediaIDShape = regexp.MustCompile(`^[1-9][0-9]{20,38}$`)

// part is one multipart/form-data part; fileType "" sends no Content-Type on a file part.
type part struct {
	name, fileType string
	data           []byte
	file           bool
}

// multipartUpload posts parts to /v24.0/{phone-number-id}/media{query}.
func multipartUpload(t *testing.T, base, query string, parts ...part) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.file {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="upload.bin"`, p.name))
			if p.fileType != "" {
				h.Set("Content-Type", p.fileType)
			}
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return do(t, base, request{method: "POST", path: "/v24.0/" + cmPhoneID + "/media" + query, token: cmToken,
		body: buf.String(), contentType: mw.FormDataContentType()})
}

func filePart(typ string, data []byte) part {
	return part{name: "file", fileType: typ, data: data, file: true}
}
func field(name, v string) part { return part{name: name, data: []byte(v)} }

// get fetches url (absolute) with an optional bearer token, returning status, headers, bytes.
func get(t *testing.T, url, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// wantObjectError is cloud-api.md §5 "Unknown or deleted media id".
func wantObjectError(t *testing.T, r response, method, id string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	trace, _ := e["fbtrace_id"].(string)
	want := map[string]any{"error": map[string]any{
		"message": "Unsupported " + method + " request. Object with ID '" + id + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		"type":    "GraphMethodException", "code": float64(100), "error_subcode": float64(33),
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": "Media " + id + " does not exist, was deleted or expired, or belongs to another phone number"},
		"fbtrace_id": trace}}
	if r.status != 400 || len(trace) != 23 || !jsonEqual(r.body, want) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s\nwant 400 %s", r.status, r.raw, mustJSON(want))
	}
}

// TestCloudMedia drives POST /{phone-number-id}/media, GET and DELETE /{media-id} and the
// download URL (cloud-api.md §5, §12 items 3–4) on both drivers.
func TestCloudMedia(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.PhoneNumberID = cmPhoneID
		cfg.WABAID = "102290129340398"
		cfg.AccessToken = cmToken
		w := newWorld(t, cfg)
		jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("jpeg bytes "), 1000)...)
		sum := sha256.Sum256(jpeg)

		// Uploads: messaging_product as a field or in the query; type as a field (before or
		// after the file) or only the file part's Content-Type.
		var ids []string
		for _, tc := range []struct {
			name, query string
			parts       []part
		}{
			{"curl order", "", []part{filePart("image/jpeg", jpeg), field("type", "image/jpeg"), field("messaging_product", "whatsapp")}},
			{"type first", "", []part{field("messaging_product", "whatsapp"), field("type", "image/jpeg"), filePart("application/octet-stream", jpeg)}},
			{"query, no type", "?messaging_product=whatsapp", []part{filePart("image/jpeg", jpeg)}},
		} {
			r := multipartUpload(t, w.base, tc.query, tc.parts...)
			id, _ := r.body["id"].(string)
			if r.status != 200 || !mediaIDShape.MatchString(id) || !jsonEqual(r.body, map[string]any{"id": id}) || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.raw)
			}
			ids = append(ids, id)
		}
		id := ids[0]

		// Metadata, versioned and with the owning phone_number_id.
		r := do(t, w.base, request{method: "GET", path: "/v24.0/" + id + "?phone_number_id=" + cmPhoneID, token: cmToken})
		url, _ := r.body["url"].(string)
		want := map[string]any{"messaging_product": "whatsapp", "url": url, "mime_type": "image/jpeg",
			"sha256": hex.EncodeToString(sum[:]), "file_size": float64(len(jpeg)), "id": id}
		if r.status != 200 || !jsonEqual(r.body, want) || !strings.HasPrefix(url, w.base+"/waba-media/"+id+"/") {
			t.Fatalf("GET media: %d %s", r.status, r.raw)
		}
		// Another number's id: the media is not found for it.
		wantObjectError(t, do(t, w.base, request{method: "GET", path: "/" + id + "?phone_number_id=999", token: cmToken}), "get", id)

		// Download with the token: the same bytes and type.
		status, h, b := get(t, url, cmToken)
		if got := sha256.Sum256(b); status != 200 || h.Get("Content-Type") != "image/jpeg" || got != sum {
			t.Fatalf("download: %d %s, %d bytes", status, h.Get("Content-Type"), len(b))
		}
		// Without the token: 104.
		wantGraphError(t, do(t, url, request{method: "GET"}), 401, 104,
			"(#104) An access token is required to request this resource", "Send the access token as 'Authorization: Bearer <token>'")
		// A forged signature or a changed expiry: 404 with no body.
		if status, _, b := get(t, url+"x", cmToken); status != 404 || len(b) != 0 {
			t.Fatalf("forged URL: %d %q", status, b)
		}
		parts := strings.Split(url, "/")
		parts[len(parts)-2] += "0"
		if status, _, _ := get(t, strings.Join(parts, "/"), cmToken); status != 404 {
			t.Fatalf("longer expiry: %d", status)
		}

		// Five minutes on the virtual clock retire the URL; a new GET makes a working one.
		w.advance(4*time.Minute + 59*time.Second)
		if status, _, _ := get(t, url, cmToken); status != 200 {
			t.Fatalf("download before expiry: %d", status)
		}
		w.advance(time.Second)
		if status, _, b := get(t, url, cmToken); status != 404 || len(b) != 0 {
			t.Fatalf("expired URL: %d %q", status, b)
		}
		r = do(t, w.base, request{method: "GET", path: "/" + id, token: cmToken})
		if status, _, _ := get(t, r.body["url"].(string), cmToken); status != 200 {
			t.Fatalf("fresh URL: %d", status)
		}

		// Send an image message by the uploaded id through the Cloud messages route.
		w.userSays("15551230030", "send me the picture")
		r = do(t, w.base, request{method: "POST", path: "/v24.0/" + cmPhoneID + "/messages", token: cmToken,
			body: `{"messaging_product":"whatsapp","to":"15551230030","type":"image","image":{"id":"` + id + `","caption":"here"}}`})
		if r.status != 200 {
			t.Fatalf("send image by id: %d %s", r.status, r.raw)
		}

		// Delete, then GET and DELETE again: 400/100/33 GraphMethodException.
		r = do(t, w.base, request{method: "DELETE", path: "/v24.0/" + id, token: cmToken})
		if r.status != 200 || string(r.raw) != `{"success":true}` {
			t.Fatalf("DELETE: %d %s", r.status, r.raw)
		}
		wantObjectError(t, do(t, w.base, request{method: "GET", path: "/v24.0/" + id, token: cmToken}), "get", id)
		wantObjectError(t, do(t, w.base, request{method: "DELETE", path: "/v24.0/" + id, token: cmToken}), "delete", id)
		if status, _, _ := get(t, w.base+"/waba-media/"+id+"/9999999999/x", cmToken); status != 404 {
			t.Fatalf("deleted media download: %d", status)
		}

		// Media a simulated user sent is served by its Graph id too.
		in, err := w.app.media.StoreInbound(t.Context(), w.app.eng.Business(), media.Voice, "", "", []byte("OggS voice"))
		if err != nil {
			t.Fatal(err)
		}
		gid, _ := media.GraphID(in.ID)
		r = do(t, w.base, request{method: "GET", path: "/" + gid, token: cmToken})
		if r.status != 200 || r.body["mime_type"] != "audio/ogg; codecs=opus" || r.body["file_size"] != float64(10) {
			t.Fatalf("inbound media: %d %s", r.status, r.raw)
		}
		if status, _, b := get(t, r.body["url"].(string), cmToken); status != 200 || string(b) != "OggS voice" {
			t.Fatalf("inbound download: %d %q", status, b)
		}
	})
}

// TestCloudMediaRefused: uploads Graph refuses store nothing.
func TestCloudMediaRefused(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.PhoneNumberID = cmPhoneID
		cfg.WABAID = "102290129340398"
		cfg.AccessToken = cmToken
		w := newWorld(t, cfg)
		ctx := t.Context()
		stored := func() int {
			// Sweeping at a time past every retention counts what is stored; the clock is left
			// alone, so nothing is swept for real unless something was stored.
			n, err := w.app.store.DeleteExpiredMedia(ctx, w.app.eng.Now().Add(365*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		mp := field("messaging_product", "whatsapp")

		r := multipartUpload(t, w.base, "", filePart("image/gif", []byte("GIF89a")), mp)
		wantGraphErrorMessage(t, r, 400, 100, "OAuthException",
			"(#100) Param file must be a file with one of the following types: audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg, audio/opus, text/plain, application/vnd.ms-excel, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/msword, application/vnd.openxmlformats-officedocument.wordprocessingml.document, application/vnd.ms-powerpoint, application/vnd.openxmlformats-officedocument.presentationml.presentation, application/pdf, image/jpeg, image/png, image/webp, video/mp4, video/3gpp. Received file of type 'image/gif'.",
			"Send the file part with one of these Content-Types, or name it in the type field before the file")

		big := bytes.Repeat([]byte{0xff}, 5*media.MB+1)
		r = multipartUpload(t, w.base, "", mp, filePart("image/jpeg", big))
		wantGraphError(t, r, 400, 131053, "(#131053) Media upload error", "The file is larger than 5 MB, the limit for image/jpeg (image)")

		r = multipartUpload(t, w.base, "", mp, field("type", "image/png"))
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", "Param file is required: send the media as a multipart/form-data part named 'file'")
		r = multipartUpload(t, w.base, "", filePart("image/png", []byte("png")))
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", "Param messaging_product is required: send messaging_product=whatsapp as a form field or in the query")
		r = multipartUpload(t, w.base, "?messaging_product=sms", filePart("image/png", []byte("png")))
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", "Param messaging_product has invalid value 'sms'; the only supported value is 'whatsapp'")
		r = multipartUpload(t, w.base, "", mp, filePart("image/png", []byte("png")), field("type", "image/jpeg"))
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", "Param type 'image/jpeg' differs from the file part's Content-Type 'image/png'; send the same type in both, or the type field before the file")
		r = do(t, w.base, request{method: "POST", path: "/" + cmPhoneID + "/media", token: cmToken, body: `{"file":"x"}`})
		wantGraphError(t, r, 400, 100, "(#100) Invalid parameter", `Send the upload as multipart/form-data with a 'file' part and messaging_product=whatsapp (Content-Type was "application/json")`)

		if n := stored(); n != 0 {
			t.Fatalf("%d media stored by refused uploads", n)
		}
		// The count itself works: an accepted upload is one.
		if r := multipartUpload(t, w.base, "", mp, filePart("image/png", []byte("png"))); r.status != 200 {
			t.Fatalf("upload: %d %s", r.status, r.raw)
		}
		if n := stored(); n != 1 {
			t.Fatalf("stored() = %d after one upload", n)
		}
	})
}

// wantGraphErrorMessage is wantGraphError with the error type spelled out.
func wantGraphErrorMessage(t *testing.T, r response, status, code int, typ, message, details string) {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	trace, _ := e["fbtrace_id"].(string)
	want := map[string]any{"error": map[string]any{"message": message, "type": typ, "code": float64(code),
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details}, "fbtrace_id": trace}}
	if r.status != status || len(trace) != 23 || !jsonEqual(r.body, want) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.raw, status, mustJSON(want))
	}
}
