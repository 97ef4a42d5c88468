package cloud

import "net/http"

// serveTemplates answers the template management routes (cloud-api.md §6) when segs names one
// and reports whether it did. Not served yet.
func (h *Handler) serveTemplates(w http.ResponseWriter, r *http.Request, segs []string) bool {
	return false
}
