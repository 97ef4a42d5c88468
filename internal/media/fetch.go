package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Link media (issue 5 item 3): a message that names its media by `link` is fetched when the
// message is dispatched, as WhatsApp's servers fetch it, so an unreachable, wrong-typed or
// oversized link fails the message asynchronously (errors.md §2.6: Cloud 131053 "also A-st when
// sending by link"; On-Prem's 1014 of the same row). The bytes are hashed and discarded.

// DownloadErrorKey marks, inside an inbound message's media object, that the file could not
// be downloaded from the user; its value is the details. Renderers turn it into each dialect's
// media download error (errors.md §2.6).
const DownloadErrorKey = "waba_download_error"

// DownloadError returns the details of an inbound message body whose media could not be
// downloaded, and the media kind.
func DownloadError(body map[string]any) (kind, details string, ok bool) {
	typ, _ := body["type"].(string)
	obj, _ := body[typ].(map[string]any)
	details, ok = obj[DownloadErrorKey].(string)
	return typ, details, ok
}

// FetchTimeout bounds one fetch, answer and body included.
const FetchTimeout = 15 * time.Second

// Credentials authenticate a fetch: an On-Prem media provider's bearer token or basic pair
// (onprem-api.md §9.2). The zero value sends none.
type Credentials struct {
	Bearer   string
	Username string
	Password string
}

// Fetched is what a successful fetch learned.
type Fetched struct {
	MIME   string
	Size   int64
	SHA256 string
}

// FetchError is a fetch that failed for a reason the sender must fix; its message is the
// failed status's details.
type FetchError struct{ Reason string }

func (e *FetchError) Error() string { return e.Reason }

// TemplateDocumentRule is what a template's DOCUMENT header takes: PDF only ("documents must
// be PDF", cloud-api.md §2.4; "Documents in media templates must be PDF", onprem-api.md §14),
// within the document size limit.
var TemplateDocumentRule = Rule{Document, []string{"application/pdf"}, 100 * MB}

// Fetch GETs link for a message of kind and checks the answer against the kind's rule: 200,
// a Content-Type of the kind (the first of the answer's or, when absent or generic, none
// passes), at most the kind's size limit (read while streaming, so a huge file costs no
// memory). client nil means a client without redirects beyond Go's default of 10.
func Fetch(ctx context.Context, client *http.Client, link string, kind Kind, cred Credentials) (Fetched, error) {
	rule, ok := RuleFor(kind)
	if !ok {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("%s messages carry no media", kind)}
	}
	return FetchRule(ctx, client, link, rule, string(kind)+" messages", cred)
}

// FetchRule is Fetch against an explicit rule; what names the media's place in failure
// details ("image messages", "template document headers").
func FetchRule(ctx context.Context, client *http.Client, link string, rule Rule, what string, cred Credentials) (Fetched, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("The media link %q is not an http(s) URL", link)}
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("The media link %q cannot be requested: %v", redactLink(u), err)}
	}
	switch {
	case cred.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+cred.Bearer)
	case cred.Username != "":
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return Fetched{}, &FetchError{Reason: fmt.Sprintf("Downloading the media from %s took longer than %v", redactLink(u), FetchTimeout)}
		}
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("Downloading the media from %s failed: %v", redactLink(u), unwrapURLError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("Downloading the media from %s answered HTTP %d", redactLink(u), resp.StatusCode)}
	}
	ct := resp.Header.Get("Content-Type")
	base, _, perr := mime.ParseMediaType(ct)
	if perr != nil || !slices.Contains(rule.Types, base) {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("The media at %s has type %q, which %s do not support; supported: %v", redactLink(u), ct, what, rule.Types)}
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, rule.Max+1))
	if err != nil {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("Downloading the media from %s failed after %d bytes: %v", redactLink(u), n, err)}
	}
	if n > rule.Max {
		return Fetched{}, &FetchError{Reason: fmt.Sprintf("The media at %s is larger than the %s limit of %s", redactLink(u), size(rule.Max), what)}
	}
	return Fetched{MIME: ct, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// redactLink keeps query strings (often signed tokens) out of details and logs.
func redactLink(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}

// unwrapURLError drops url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
