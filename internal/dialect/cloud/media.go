package cloud

import "net/http"

// serveMedia answers the Cloud media routes (cloud-api.md §5) when segs names one and reports
// whether it did. Not served yet.
func (h *Handler) serveMedia(w http.ResponseWriter, r *http.Request, segs []string) bool {
	return false
}
