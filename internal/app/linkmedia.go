package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/openwaba/waba/internal/media"
)

// fetchMedia is the simulated network's download of `link` media at hand-off (issue 5 item
// 3), with the named On-Prem media provider's credentials (onprem-api.md §9.2). The client
// trusts what webhook deliveries trust (system roots and the uploaded CA bundle). It answers
// the failure details, or "" when the link is usable.
func (a *App) fetchMedia(ctx context.Context, kind, link, provider string) string {
	var cred media.Credentials
	if provider != "" {
		p, ok, err := a.eng.MediaProvider(ctx, provider)
		if err != nil {
			return fmt.Sprintf("The media provider '%s' could not be read: %v", provider, err)
		}
		if !ok {
			return fmt.Sprintf("No media provider is named '%s'; configure it with POST /v1/settings/application/media/providers", provider)
		}
		cred.Bearer = p.Config.Bearer
		if b := p.Config.Basic; b != nil {
			cred.Username, cred.Password = b.Username, b.Password
		}
	}
	_, err := media.Fetch(ctx, &http.Client{Transport: a.certs}, link, media.Kind(kind), cred)
	var fe *media.FetchError
	if errors.As(err, &fe) {
		a.log.Info("link media refused", "kind", kind, "reason", fe.Reason)
		return fe.Reason
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
