package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/network/simnet"
)

// fetchMedia is the simulated network's download of `link` media at hand-off (issue 5 item
// 3), with the named On-Prem media provider's credentials (onprem-api.md §9.2). The client
// trusts what webhook deliveries trust (system roots and the uploaded CA bundle). It answers
// the failure details, or "" when the link is usable. Details name the link (without its
// query string or user info, media.FetchRule) and the problem, never the credentials.
//
// The rule is the kind's (cloud-api.md §5 "Supported types"), except a template's DOCUMENT
// header, which must be a PDF (cloud-api.md §2.4 "documents must be PDF"; onprem-api.md §14
// "Documents in media templates must be PDF"). A wrong type found only at hand-off is the
// asynchronous 1014 / 131053 of errors.md §2.6 ("C: also A-st when sending by link"); On-Prem's
// 2008 "Template Media Format Unsupported" is a synchronous answer (S) and stays with media sent
// by id, whose type is known at accept time (engine.checkHeaderMedia).
func (a *App) fetchMedia(ctx context.Context, l simnet.MediaLink) string {
	kind, link, provider := l.Kind, l.Link, l.Provider
	rule, ok := media.RuleFor(media.Kind(kind))
	if !ok {
		return fmt.Sprintf("%s messages carry no media", kind)
	}
	what := kind + " messages"
	switch {
	case l.Place == simnet.PlaceTemplateHeader && media.Kind(kind) == media.Document:
		rule, what = media.TemplateDocumentRule, "template document headers"
	case l.Place != simnet.PlaceMessage:
		what = l.Place + "s of type " + kind
	}
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
	_, err := media.FetchRule(ctx, &http.Client{Transport: a.certs}, link, rule, what, cred)
	var fe *media.FetchError
	if errors.As(err, &fe) {
		a.log.Info("link media refused", "kind", kind, "place", l.Place, "reason", fe.Reason)
		return fe.Reason
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
