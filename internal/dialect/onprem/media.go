package onprem

import (
	"net/http"

	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/waerr"
)

// mediaRoutes serves /v1/media (shared/reference/onprem-api.md §7).
type mediaRoutes struct {
	*Handler
	svc *media.Service
}

// WithMedia gives the handler the media service and registers POST /v1/media and
// GET|DELETE /v1/media/{id}. Call it once, before serving. Until it is called those paths
// answer 404 (1006) like any unknown path.
func (h *Handler) WithMedia(svc *media.Service) *Handler {
	if svc == nil {
		panic("onprem: WithMedia needs a media.Service")
	}
	mr := &mediaRoutes{Handler: h, svc: svc}
	h.mux.HandleFunc("/v1/media", h.authed(false, mr.upload))
	h.mux.HandleFunc("/v1/media/{id}", h.authed(false, mr.media))
	return h
}

// upload: POST /v1/media with the raw file as the body and its type in Content-Type (§7):
//
//	curl -X POST https://your-webapp-hostname:your-webapp-port/v1/media \
//	  -H 'Authorization: Bearer your-auth-token' -H 'Content-Type: image/jpeg' --data-binary @your-file
//
// answers 201 {"media":[{"id":"f043afd0-f0ae-4b9c-ab3d-696fb4c8cd68"}],"meta":{…}}. A missing
// Content-Type is 400 with 1008 ("Content-Type missing", §7); an unsupported type, an empty body
// or one over the limit is 500 with 1014 Internal error, Meta's answer to a failed media upload
// (errors.md §2.6, "Media upload failed / unsupported or mismatched MIME"; a quirk of the real
// API, kept, with details saying what to fix). The body streams into the store: a declared
// Content-Length over the limit is refused before anything is read, and an undeclared one is
// cut off as soon as it passes the limit.
func (mr *mediaRoutes) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		mr.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	ct := r.Header.Get("Content-Type")
	if err := mr.svc.CheckLength(ct, r.ContentLength); err != nil {
		mr.writeError(w, r, err)
		return
	}
	m, err := mr.svc.Upload(r.Context(), mr.eng.Business(), ct, r.Body)
	if err != nil {
		mr.writeError(w, r, err)
		return
	}
	type mediaID struct {
		ID string `json:"id"`
	}
	writePayload(w, http.StatusCreated, "media", []mediaID{{m.ID}})
}

// media: GET /v1/media/{id} answers the bytes with their Content-Type, DELETE removes the media
// and answers meta only (§7). An unknown id is 404: with no body for GET, as Meta answers it
// (§7, errors.md §4.2), and with 1006 for DELETE.
func (mr *mediaRoutes) media(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	switch r.Method {
	case http.MethodGet:
		m, rc, err := mr.svc.Open(r.Context(), id)
		if e, ok := waerr.As(err); ok && e.Cond == waerr.NotFound {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if err != nil {
			mr.writeError(w, r, err)
			return
		}
		if err := media.WriteFile(w, r, m, rc); err != nil {
			mr.log.Error("media download failed", "media_id", m.ID, "err", err)
		}
	case http.MethodDelete:
		if err := mr.svc.Delete(r.Context(), id); err != nil {
			mr.writeError(w, r, err)
			return
		}
		writePayload(w, http.StatusOK, "", nil)
	default:
		mr.methodNotAllowed(w, r, http.MethodGet, http.MethodDelete)
	}
}
