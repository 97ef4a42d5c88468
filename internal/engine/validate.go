package engine

// Message validation, shared by both dialects.
//
// Sources: shared/reference/onprem-api.md §8.1–§8.7b and §14 (On-Prem; §8.7b fixes the error code
// of every limit the seed gives without one), shared/reference/cloud-api.md §2 (Cloud), and the
// 2019 WebApp's MessagesController/Util (the On-Prem reference's [WEBAPP]) for the order of the
// top-level checks and the wording of `details`.
//
// Conventions:
//   - Lengths are counted in characters, i.e. Unicode code points (utf8.RuneCountInString), not
//     bytes: an emoji made of several code points (flags, ZWJ sequences) counts as several. Meta
//     documents limits in "characters" without saying how it counts them.
//   - Every error's details name the field by its path (`interactive.action.sections[1].rows[0].title`)
//     and, for limits, the limit and the actual length or count.
//   - Validate returns the first problem found. The order is the WebApp's (to, type,
//     recipient_type, the type's object, other types' objects), then the type's own fields from the
//     outside in, and the form of `to` last (it was checked by Coreapp, after the WebApp's shape
//     checks).
//   - Validate is idempotent: it normalises the message (defaults, preview_url, Flow shape,
//     dropped document captions) so that validating the result again succeeds unchanged.
//   - Nothing here looks anything up: template and media existence, self-sends and recipient
//     validity are checked by the callers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// Limits, with their sources.
const (
	maxTextBody      = 4096 // onprem-api.md §8.3 → 1001
	maxCaption       = 1024 // onprem-api.md §8.4 ("from v2.41.2"); cloud-api.md §2.3
	maxHeaderText    = 60   // onprem-api.md §8.7 header
	maxBody          = 1024 // onprem-api.md §8.7 body
	maxCloudListBody = 4096 // cloud-api.md §2.3 list page (CONFLICT with the generic 1024, §13 item 5): the list page is the specific one
	maxFooter        = 60   // onprem-api.md §8.7 footer
	maxListButton    = 20   // onprem-api.md §8.7 action.button
	maxReplyTitle    = 20   // onprem-api.md §8.7 action.buttons[].reply.title
	maxReplyID       = 256  // onprem-api.md §8.7 action.buttons[].reply.id
	maxReplyButtons  = 3    // onprem-api.md §8.7 ("max 3 from Meta's interactive guide"), §8.7b
	maxSections      = 10   // onprem-api.md §8.7 → 2015
	maxRows          = 10   // onprem-api.md §8.7, across all sections → 2016
	maxSectionTitle  = 24   // onprem-api.md §8.7
	maxRowTitle      = 24   // onprem-api.md §8.7
	maxRowID         = 200  // onprem-api.md §8.7
	maxRowDesc       = 72   // onprem-api.md §8.7
	maxProducts      = 30   // onprem-api.md §8.7, across all sections → 2023
	maxRetailerID    = 100  // onprem-api.md §8.7 product_retailer_id (action and product_items[])
	maxFlowCTAOnPrem = 20   // onprem-api.md §8.7 flow_cta (≤ 20, no emoji)
	maxFlowCTACloud  = 30   // cloud-api.md §2.3 ("should be ≤ 30"; §13 item 14)
	maxCTADisplay    = 20   // cloud-api.md §2.3 cta_url display_text
	maxBizOpaque     = 512  // cloud-api.md §2.1 biz_opaque_callback_data
	maxCloudContacts = 257  // cloud-api.md §2.3 ([DOC] 257 vs [OAS] 5: the documentation wins)
	maxTemplateName  = 512  // Meta's template-name limit on creation; a longer name cannot exist
	maxButtonIndex   = 9    // onprem-api.md §14.1 index 0–9
)

// Validate checks m as a send request of dialect d and normalises it in place: it applies the
// defaults (recipient_type "individual", type "text"), moves On-Prem's top-level preview_url into
// text, stores Flow parameters in Cloud's shape and drops On-Prem document captions (noting them
// in m.DroppedCaption). It returns nil or a *waerr.Error.
func Validate(m *wa.Message, d wa.Dialect) error {
	if e := validateMessage(m, d); e != nil {
		return e
	}
	return nil
}

type msgValidator struct {
	d wa.Dialect
}

func validateMessage(m *wa.Message, d wa.Dialect) *waerr.Error {
	if d != wa.OnPrem && d != wa.Cloud {
		return waerr.New(waerr.Internal, "unknown dialect %d", int(d))
	}
	v := msgValidator{d: d}
	applyMessageDefaults(m)

	// onprem-api.md §8.1 / [WEBAPP] parseSendRequest: `to` is the first check.
	if m.To == "" {
		return errMissing("to")
	}
	if e := v.messageType(m.Type); e != nil {
		return e
	}
	if e := v.recipientType(m.RecipientType); e != nil {
		return e
	}
	// Keys the wire format does not have: seed 003's 1010 "an unnecessary parameter is included".
	if len(m.UnknownParams) > 0 {
		u := m.UnknownParams[0]
		if u.Suggestion != "" {
			return waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not a parameter of the %s; did you mean '%s'? Parameter names are case-sensitive", u.Path, d, u.Suggestion)
		}
		return waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not a parameter of the %s", u.Path, d)
	}
	if e := v.envelope(m); e != nil {
		return e
	}
	if e := v.typeObjects(m); e != nil {
		return e
	}
	var e *waerr.Error
	switch m.Type {
	case "text":
		e = v.text(m)
	case "image", "audio", "video", "document", "sticker":
		e = v.mediaMessage(m)
	case "location":
		e = v.location("location", m.Location)
	case "contacts":
		e = v.contacts(m.Contacts)
	case "interactive":
		e = v.interactive(m.Interactive)
	case "template":
		e = v.template(m.Template)
	case "hsm":
		e = v.hsm(m.HSM)
	case "reaction":
		e = v.reaction(m)
	}
	if e != nil {
		return e
	}
	// The form of `to` last (see the package comment above). A malformed `to` is 1009, a value
	// problem (§8.7b); 1013 "User is not valid" / Cloud 131026 is left for a well-formed number
	// that is not a WhatsApp user, which the simulated network decides.
	if _, ok := wa.NormalizePhone(m.To); !ok {
		return waerr.New(waerr.InvalidParam, "Parameter 'to' has invalid value '%s'; send a WhatsApp ID or a phone number in international format: 8 to 15 digits, optionally with '+', spaces, '-', '.', '(' and ')' (e.g. '+1 631 555 1234')", clipValue(m.To))
	}
	return nil
}

// applyMessageDefaults fills in what both APIs default (onprem-api.md §8.1; cloud-api.md §2.1) and drops
// empty objects of other types, which the WebApp treated as absent ([WEBAPP] getConditionalParam
// ignores empty values).
func applyMessageDefaults(m *wa.Message) {
	if m.RecipientType == "" {
		m.RecipientType = "individual"
	}
	if m.Type == "" {
		m.Type = "text"
	}
	if bytes.Equal(bytes.TrimSpace(m.HSM), []byte("null")) {
		m.HSM = nil
	}
	if m.Type != "text" && m.Text != nil && *m.Text == (wa.Text{}) {
		m.Text = nil
	}
	for _, p := range []struct {
		typ string
		ptr **wa.Media
	}{{"image", &m.Image}, {"audio", &m.Audio}, {"video", &m.Video}, {"document", &m.Document}, {"sticker", &m.Sticker}} {
		if m.Type != p.typ && *p.ptr != nil && **p.ptr == (wa.Media{}) {
			*p.ptr = nil
		}
	}
	if m.Type != "location" && m.Location != nil && *m.Location == (wa.Location{}) {
		m.Location = nil
	}
	if m.Type != "contacts" && m.Contacts != nil && len(m.Contacts) == 0 {
		m.Contacts = nil
	}
	if m.Type != "interactive" && m.Interactive != nil && *m.Interactive == (wa.Interactive{}) {
		m.Interactive = nil
	}
	if m.Type != "template" && m.Template != nil && m.Template.Namespace == "" && m.Template.Name == "" && m.Template.Language == nil && m.Template.Components == nil {
		m.Template = nil
	}
	if m.Type != "reaction" && m.Reaction != nil && *m.Reaction == (wa.Reaction{}) {
		m.Reaction = nil
	}
}

var (
	onPremMessageTypes = []string{"text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "template", "hsm"}
	// cloud-api.md §2.1. `hsm` is On-Prem only.
	cloudMessageTypes = []string{"text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "template", "reaction"}
)

// messageType checks `type` (onprem-api.md §8.1: unknown → 1009 "Parameter 'type' has invalid
// value '…'"). `reaction` is not an On-Prem type: the seed's On-Prem list and the WebApp's
// ALLOWED_TYPES lack it and Meta documents reactions for Cloud only (§8.9, UNCONFIRMED), so
// On-Prem answers it like any unknown type.
func (v *msgValidator) messageType(t string) *waerr.Error {
	allowed := onPremMessageTypes
	if v.d == wa.Cloud {
		allowed = cloudMessageTypes
	}
	if !inSet(t, allowed) {
		cond := waerr.InvalidParam
		if v.d == wa.Cloud {
			// errors.md §2.2 "Unsupported outbound message type": Cloud answers 131051.
			cond = waerr.UnsupportedMessageType
		}
		return waerr.New(cond, "Parameter 'type' has invalid value '%s'; the %s supports: %s", clipValue(t), v.d, strings.Join(allowed, ", "))
	}
	return nil
}

// recipientType: only `individual` (onprem-api.md §8.1, §8.7b → 1002, including `group`, which
// old On-Prem builds had). Cloud documents `group` for its Groups API, which waba does not
// emulate, so it gets the same answer with a reason.
func (v *msgValidator) recipientType(rt string) *waerr.Error {
	if rt == "individual" {
		return nil
	}
	if rt == "group" && v.d == wa.Cloud {
		return waerr.New(waerr.InvalidRecipientType, "Parameter 'recipient_type' has invalid value 'group': the Groups API is not emulated by waba; use 'individual'")
	}
	return waerr.New(waerr.InvalidRecipientType, "Parameter 'recipient_type' has invalid value '%s'; the only supported value is 'individual'", clipValue(rt))
}

// envelope checks the top-level fields that are not the type's object: the other dialect's
// fields (1010, onprem-api.md §8.1 and §8.7b), status, ttl, messaging_product, context and
// biz_opaque_callback_data.
func (v *msgValidator) envelope(m *wa.Message) *waerr.Error {
	if m.Status != "" {
		// onprem-api.md §8.12, cloud-api.md §3: marking read is a different request.
		how := "PUT /v1/messages/{message-id} with {\"status\":\"read\"}"
		if v.d == wa.Cloud {
			how = "a body with 'messaging_product', 'status' and 'message_id' and no 'type'"
		}
		return waerr.New(waerr.UnexpectedParam, "Parameter 'status' is not required for type '%s'; to mark a message read, send %s", m.Type, how)
	}
	if v.d == wa.OnPrem {
		// onprem-api.md §8.1 / §8.7b: Cloud-only fields on /v1 → 1010. `messaging_product` is
		// UNCONFIRMED in §8.1, and §8.7b decides it: 1010.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"messaging_product", m.MessagingProduct != ""},
			{"context", m.Context != nil},
			{"biz_opaque_callback_data", m.BizOpaqueCallbackData != ""},
			{"recipient_identity_key_hash", m.RecipientIdentityKeyHash != ""},
		} {
			if f.set {
				return errOtherDialect(f.name, v.d)
			}
		}
		if m.TTL != nil {
			if e := validateTTL(string(*m.TTL)); e != nil {
				return e
			}
		}
		return nil
	}
	// Cloud. On-Prem-only top-level fields are refused the same way (the mirror of §8.1's rule).
	if m.PreviewURL != nil {
		return waerr.New(waerr.UnexpectedParam, "Parameter 'preview_url' is not a parameter of the %s at the top level; send 'text.preview_url'", v.d)
	}
	if m.TTL != nil {
		return errOtherDialect("ttl", v.d)
	}
	// cloud-api.md §2.1: messaging_product is required and always "whatsapp".
	if m.MessagingProduct == "" {
		return errMissing("messaging_product")
	}
	if m.MessagingProduct != "whatsapp" {
		return waerr.New(waerr.InvalidParam, "Parameter 'messaging_product' has invalid value '%s'; the only supported value is 'whatsapp'", clipValue(m.MessagingProduct))
	}
	if m.Context != nil {
		// cloud-api.md §2.1: context is not allowed on reactions.
		if m.Type == "reaction" {
			return errNotRequired("context", "type", "reaction")
		}
		if m.Context.MessageID == "" {
			return errMissing("context.message_id")
		}
	}
	if n := charCount(m.BizOpaqueCallbackData); n > maxBizOpaque {
		return errTooLong(waerr.InvalidParam, "biz_opaque_callback_data", n, maxBizOpaque)
	}
	return nil
}

// validateTTL checks On-Prem's legacy ttl: seconds or an ISO-8601 duration (onprem-api.md §8.1); the
// WebApp refused an empty one with 1009 "Empty TTL value not allowed".
func validateTTL(s string) *waerr.Error {
	if s == "" {
		return waerr.New(waerr.InvalidParam, "Parameter 'ttl' has invalid value '': empty TTL value not allowed")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return waerr.New(waerr.InvalidParam, "Parameter 'ttl' has invalid value '%s'; send a positive number of seconds or an ISO-8601 duration such as 'P4D'", clipValue(s))
		}
		return nil
	}
	if !isISODuration(s) {
		return waerr.New(waerr.InvalidParam, "Parameter 'ttl' has invalid value '%s'; send a positive number of seconds or an ISO-8601 duration such as 'P4D'", clipValue(s))
	}
	return nil
}

// isISODuration reports whether s is PnYnMnWnDTnHnMnS with at least one part.
func isISODuration(s string) bool {
	if len(s) < 3 || s[0] != 'P' {
		return false
	}
	units, inTime, parts := "YMWD", false, 0
	for i := 1; i < len(s); {
		if s[i] == 'T' && !inTime {
			inTime, units = true, "HMS"
			i++
			continue
		}
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || (inTime && s[j] == '.')) {
			j++
		}
		if j == i || j == len(s) {
			return false
		}
		k := strings.IndexByte(units, s[j])
		if k < 0 {
			return false
		}
		units = units[k+1:]
		parts++
		i = j + 1
	}
	return parts > 0 && !strings.HasSuffix(s, "T")
}

// typeObjects: the object named by `type` is mandatory (1008) and no other type's object may be
// present (1010), in the WebApp's words ([WEBAPP] getConditionalParam; onprem-api.md §8.1).
func (v *msgValidator) typeObjects(m *wa.Message) *waerr.Error {
	objs := []struct {
		name string
		set  bool
	}{
		{"text", m.Text != nil},
		{"image", m.Image != nil},
		{"audio", m.Audio != nil},
		{"video", m.Video != nil},
		{"document", m.Document != nil},
		{"sticker", m.Sticker != nil},
		{"location", m.Location != nil},
		{"contacts", len(m.Contacts) > 0},
		{"interactive", m.Interactive != nil},
		{"template", m.Template != nil},
		{"hsm", len(m.HSM) > 0},
		{"reaction", m.Reaction != nil},
	}
	for _, o := range objs {
		if o.name == m.Type && !o.set {
			return waerr.New(waerr.MissingParam, "Parameter '%s' is mandatory for type '%s'", o.name, m.Type)
		}
	}
	for _, o := range objs {
		if o.name != m.Type && o.set {
			if o.name == "hsm" && v.d == wa.Cloud {
				return errOtherDialect("hsm", v.d)
			}
			return errNotRequired(o.name, "type", m.Type)
		}
	}
	return nil
}

// text: body required (1008), ≤ 4096 characters (1001), onprem-api.md §8.3. On-Prem's
// top-level preview_url is moved into text (§8.1); it is never required (§8.7b).
func (v *msgValidator) text(m *wa.Message) *waerr.Error {
	t := m.Text
	if m.PreviewURL != nil { // On-Prem only; envelope refused it on Cloud
		if t.PreviewURL != nil && *t.PreviewURL != *m.PreviewURL {
			return waerr.New(waerr.InvalidParam, "Parameter 'preview_url' has value %t but 'text.preview_url' has %t; send one of them", *m.PreviewURL, *t.PreviewURL)
		}
		t.PreviewURL, m.PreviewURL = m.PreviewURL, nil
	}
	if t.Body == "" {
		return errMissing("text.body")
	}
	if n := charCount(t.Body); n > maxTextBody {
		return errTooLong(waerr.MessageTooLong, "text.body", n, maxTextBody)
	}
	return nil
}

// mediaMessage validates image, audio, video, document and sticker messages (onprem-api.md
// §8.4; cloud-api.md §2.3). On-Prem accepts a document caption and drops it (§8.7b).
func (v *msgValidator) mediaMessage(m *wa.Message) *waerr.Error {
	md := map[string]*wa.Media{"image": m.Image, "audio": m.Audio, "video": m.Video, "document": m.Document, "sticker": m.Sticker}[m.Type]
	if m.PreviewURL != nil {
		// On-Prem's preview_url only concerns text; the WebApp read it for every type and
		// ignored it. waba drops it so the stored message stays clean.
		m.PreviewURL = nil
	}
	if e := v.media(m.Type, md, m.Type, mediaInMessage); e != nil {
		return e
	}
	if v.d == wa.OnPrem && m.Type == "document" && md.Caption != "" {
		// onprem-api.md §8.7b: "captions are currently not supported for document media"
		// (seed 004 line 269). Accepted; the caption is dropped, not delivered, and the stored
		// message says so. Meta's actual behaviour is not documented: this is our choice.
		m.DroppedCaption = md.Caption
		md.Caption = ""
	}
	return nil
}

type mediaPlace int

const (
	mediaInMessage mediaPlace = iota
	mediaInHeader
	mediaInTemplate
)

// media validates a media object at path p of kind image/audio/video/document/sticker.
func (v *msgValidator) media(p string, md *wa.Media, kind string, place mediaPlace) *waerr.Error {
	// Fields that do not apply first, as the WebApp did (caption, then filename).
	if md.Caption != "" {
		switch {
		case place == mediaInHeader:
			return errNotRequired(p+".caption", "interactive header", kind)
		case place == mediaInTemplate && v.d == wa.Cloud:
			// cloud-api.md §2.3 templates: "No captions in templates".
			return errNotRequired(p+".caption", "template parameter", kind)
		case kind == "audio" || kind == "sticker":
			// onprem-api.md §8.4 / §8.7b: "Do not use with audio or sticker media" → 1010.
			return errNotRequired(p+".caption", "type", kind)
		}
	}
	if md.Filename != "" && kind != "document" {
		// onprem-api.md §8.4: filename is for documents only → 1010 (§8.7b).
		return errNotRequired(p+".filename", "type", kind)
	}
	if md.Voice != nil {
		if v.d == wa.OnPrem {
			return errOtherDialect(p+".voice", v.d)
		}
		if kind != "audio" || place != mediaInMessage {
			return errNotRequired(p+".voice", "type", kind)
		}
	}
	if md.Provider != nil && v.d == wa.Cloud {
		// onprem-api.md §8.4: provider is On-Prem only.
		return errOtherDialect(p+".provider", v.d)
	}
	// Exactly one of id and link (onprem-api.md §8.4; cloud-api.md §2.3 "id xor link"). Both:
	// 1010 with the WebApp's XOR wording ([WEBAPP] Util::getXorParamName answers
	// PARAMETER_NOT_REQUIRED, i.e. 1010); neither: 1008.
	switch {
	case md.ID != "" && md.Link != "":
		return waerr.New(waerr.UnexpectedParam, "Exactly one of the following parameters must be present: '%s.id', '%s.link'", p, p)
	case md.ID == "" && md.Link == "":
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter: one of '%s.id', '%s.link' must be present", p, p)
	}
	if md.Link != "" && !isHTTPURL(md.Link) {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.link' has invalid value '%s'; the link must be an http:// or https:// URL", p, clipValue(md.Link))
	}
	if md.Provider != nil {
		if md.Link == "" {
			// The provider only tells the client how to fetch a link (onprem-api.md §7, §8.4).
			return waerr.New(waerr.UnexpectedParam, "Parameter '%s.provider' is only used with '%s.link'", p, p)
		}
		if md.Provider.Name == "" {
			return errMissing(p + ".provider.name")
		}
	}
	if n := charCount(md.Caption); n > maxCaption {
		return errTooLong(waerr.InvalidParam, p+".caption", n, maxCaption)
	}
	return nil
}

// location: latitude and longitude are required in both dialects; name and address are required
// on On-Prem (the seed's table marks all four required, onprem-api.md §8.5) and optional on Cloud
// (cloud-api.md §2.3; §19 item 4 — each dialect follows its own documentation).
func (v *msgValidator) location(p string, l *wa.Location) *waerr.Error {
	if l.Latitude == nil {
		return errMissing(p + ".latitude")
	}
	if l.Longitude == nil {
		return errMissing(p + ".longitude")
	}
	if lat := float64(*l.Latitude); lat < -90 || lat > 90 {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.latitude' has invalid value '%v'; it must be between -90 and 90", p, lat)
	}
	if lon := float64(*l.Longitude); lon < -180 || lon > 180 {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.longitude' has invalid value '%v'; it must be between -180 and 180", p, lon)
	}
	if v.d == wa.OnPrem {
		if l.Name == "" {
			return errMissing(p + ".name")
		}
		if l.Address == "" {
			return errMissing(p + ".address")
		}
	}
	return nil
}

// contacts: each card needs name.formatted_name plus one more name field (onprem-api.md §8.6;
// cloud-api.md §2.3). Contact `type` values are "standard values", not an enum (§8.7b): not
// checked. birthday is documented as YYYY-MM-DD and is checked as such (1009, our choice).
func (v *msgValidator) contacts(cs []wa.Contact) *waerr.Error {
	if v.d == wa.Cloud && len(cs) > maxCloudContacts {
		return waerr.New(waerr.InvalidParam, "Parameter 'contacts' has %d contact cards; at most %d are allowed", len(cs), maxCloudContacts)
	}
	for i := range cs {
		c := &cs[i]
		p := fmt.Sprintf("contacts[%d]", i)
		if c.Name == nil {
			return errMissing(p + ".name")
		}
		n := c.Name
		if n.FormattedName == "" {
			return errMissing(p + ".name.formatted_name")
		}
		if n.FirstName == "" && n.LastName == "" && n.MiddleName == "" && n.Suffix == "" && n.Prefix == "" {
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter: '%s.name' needs at least one of 'first_name', 'last_name', 'middle_name', 'suffix', 'prefix' besides 'formatted_name'", p)
		}
		if c.Birthday != "" {
			if _, err := time.Parse("2006-01-02", c.Birthday); err != nil {
				return waerr.New(waerr.InvalidParam, "Parameter '%s.birthday' has invalid value '%s'; use the format YYYY-MM-DD", p, clipValue(c.Birthday))
			}
		}
	}
	return nil
}

// reaction (Cloud only, cloud-api.md §2.3): message_id required; an empty emoji removes the
// reaction, so emoji must be present but may be empty. Whether the target exists is reported
// later, asynchronously (131009), not here.
func (v *msgValidator) reaction(m *wa.Message) *waerr.Error {
	r := m.Reaction
	if r.MessageID == "" {
		return errMissing("reaction.message_id")
	}
	if r.Emoji == nil {
		return errMissing("reaction.emoji")
	}
	return nil
}

// ---- interactive (onprem-api.md §8.7, codes per §8.7b) ----

var (
	onPremInteractive = []string{"list", "button", "product", "product_list", "catalog_message", "flow"}
	cloudInteractive  = []string{"list", "button", "product", "product_list", "catalog_message", "flow", "cta_url", "location_request_message"}
)

// headerTypes lists the header types each interactive type allows (onprem-api.md §8.7 header:
// text for list, button and product_list; media for button; none for product). Flow and cta_url
// follow Cloud's examples (cloud-api.md §2.3); catalog_message and location_request_message have
// no header in any example and get none.
var interactiveHeaderTypes = map[string][]string{
	"list":         {"text"},
	"button":       {"text", "image", "video", "document"},
	"product_list": {"text"},
	"flow":         {"text"},
	"cta_url":      {"text", "image", "video", "document"},
}

func (v *msgValidator) interactive(it *wa.Interactive) *waerr.Error {
	const p = "interactive"
	if it.Type == "" {
		return errMissing(p + ".type")
	}
	allowed := onPremInteractive
	if v.d == wa.Cloud {
		allowed = cloudInteractive
	}
	if !inSet(it.Type, allowed) {
		return waerr.New(waerr.InvalidParam, "Parameter 'interactive.type' has invalid value '%s'; the %s supports: %s", clipValue(it.Type), v.d, strings.Join(allowed, ", "))
	}
	if e := v.header(it); e != nil {
		return e
	}
	// body: optional for product, required for every other type (§8.7); ≤ 1024.
	if it.Body == nil {
		if it.Type != "product" {
			return waerr.New(waerr.MissingParam, "Parameter 'interactive.body' is mandatory for interactive type '%s'", it.Type)
		}
	} else {
		if it.Body.Text == "" {
			return errMissing(p + ".body.text")
		}
		max := maxBody
		if v.d == wa.Cloud && it.Type == "list" {
			max = maxCloudListBody
		}
		if n := charCount(it.Body.Text); n > max {
			return errTooLong(waerr.InvalidParam, p+".body.text", n, max)
		}
	}
	// footer: optional; text required when present; ≤ 60; emoji, markdown and links allowed.
	if it.Footer != nil {
		if it.Footer.Text == "" {
			return errMissing(p + ".footer.text")
		}
		if n := charCount(it.Footer.Text); n > maxFooter {
			return errTooLong(waerr.InvalidParam, p+".footer.text", n, maxFooter)
		}
	}
	if it.Action == nil {
		return errMissing(p + ".action")
	}
	if e := v.actionFields(it.Type, it.Action); e != nil {
		return e
	}
	switch it.Type {
	case "list":
		return v.list(it.Action)
	case "button":
		return v.replyButtons(it.Action)
	case "product":
		return v.product(it.Action)
	case "product_list":
		return v.productList(it.Action)
	case "catalog_message":
		return v.namedAction(it.Action, "catalog_message")
	case "flow":
		return v.flow(it.Action)
	case "cta_url":
		return v.ctaURL(it.Action)
	case "location_request_message":
		return v.namedAction(it.Action, "send_location")
	}
	return nil
}

// header: required for product_list (1008), not allowed for product and the types without
// headers (1010), type in the allowed set (1009); the content for its type is required (1008);
// content for another type is 2036 Invalid Header Structure (our choice: the seed names the code
// without a trigger, and a header carrying a second kind of content is the one structural fault
// no other rule covers); text ≤ 60 (1009) with no markdown or newlines (2017, §8.7b).
func (v *msgValidator) header(it *wa.Interactive) *waerr.Error {
	const p = "interactive.header"
	h := it.Header
	allowed, ok := interactiveHeaderTypes[it.Type]
	if h == nil {
		if it.Type == "product_list" {
			return waerr.New(waerr.MissingParam, "Parameter 'interactive.header' is mandatory for interactive type 'product_list'")
		}
		return nil
	}
	if !ok {
		return errNotRequired(p, "interactive type", it.Type)
	}
	if h.Type == "" {
		return errMissing(p + ".type")
	}
	if !inSet(h.Type, allowed) {
		return waerr.New(waerr.InvalidParam, "Parameter 'interactive.header.type' has invalid value '%s'; interactive type '%s' allows: %s", clipValue(h.Type), it.Type, strings.Join(allowed, ", "))
	}
	contents := []struct {
		name string
		set  bool
	}{{"text", h.Text != ""}, {"image", h.Image != nil}, {"video", h.Video != nil}, {"document", h.Document != nil}}
	for _, c := range contents {
		if c.name == h.Type && !c.set {
			return errMissing(p + "." + c.name)
		}
	}
	for _, c := range contents {
		if c.name != h.Type && c.set {
			return waerr.New(waerr.InvalidHeaderStructure, "Parameter '%s.%s' does not belong in a header of type '%s'; a header holds only the content of its type", p, c.name, h.Type)
		}
	}
	switch h.Type {
	case "text":
		if n := charCount(h.Text); n > maxHeaderText {
			return errTooLong(waerr.InvalidParam, p+".text", n, maxHeaderText)
		}
		if why := markdownOrNewline(h.Text); why != "" {
			return errCharPolicy(p+".text", why)
		}
	case "image":
		return v.media(p+".image", h.Image, "image", mediaInHeader)
	case "video":
		return v.media(p+".video", h.Video, "video", mediaInHeader)
	case "document":
		return v.media(p+".document", h.Document, "document", mediaInHeader)
	}
	return nil
}

// actionFields refuses action fields that belong to another interactive type (1010).
// actionFieldsByType lists the action fields each interactive type uses (onprem-api.md §8.7;
// cloud-api.md §2.3); "flow" stands for the Flow fields.
var actionFieldsByType = map[string][]string{
	"list":                     {"button", "sections"},
	"button":                   {"buttons"},
	"product":                  {"catalog_id", "product_retailer_id"},
	"product_list":             {"catalog_id", "sections"},
	"catalog_message":          {"name", "parameters"},
	"flow":                     {"name", "parameters", "flow"},
	"cta_url":                  {"name", "parameters"},
	"location_request_message": {"name"},
}

func (v *msgValidator) actionFields(typ string, a *wa.Action) *waerr.Error {
	allowed := actionFieldsByType[typ]
	fields := []struct {
		name string
		set  bool
	}{
		{"button", a.Button != ""},
		{"buttons", a.Buttons != nil},
		{"sections", a.Sections != nil},
		{"catalog_id", a.CatalogID != ""},
		{"product_retailer_id", a.ProductRetailerID != ""},
		{"name", a.Name != ""},
		{"parameters", a.Parameters != nil},
	}
	for _, f := range fields {
		if f.set && !inSet(f.name, allowed) {
			return errNotRequired("interactive.action."+f.name, "interactive type", typ)
		}
	}
	if !a.FlowFields.IsZero() && !inSet("flow", allowed) {
		return errNotRequired("interactive.action."+firstFlowField(&a.FlowFields), "interactive type", typ)
	}
	return nil
}

// list: button required, ≤ 20, no markdown (§8.7); 1–10 sections (2015); each section ≥ 1 row and
// ≤ 10 rows in all (2016, §8.7b); titles and row fields per §8.7; duplicate row ids 1009.
func (v *msgValidator) list(a *wa.Action) *waerr.Error {
	const p = "interactive.action"
	if a.Button == "" {
		return errMissing(p + ".button")
	}
	if n := charCount(a.Button); n > maxListButton {
		return errTooLong(waerr.InvalidParam, p+".button", n, maxListButton)
	}
	if why := markdownOrNewline(a.Button); why != "" {
		return errCharPolicy(p+".button", why)
	}
	if e := checkSectionCount(a.Sections); e != nil {
		return e
	}
	total := 0
	for i, s := range a.Sections {
		if s.ProductItems != nil {
			return errNotRequired(sectionPath(i)+".product_items", "interactive type", "list")
		}
		if len(s.Rows) == 0 {
			// §8.7b: "a section with no rows: UNCONFIRMED, use 2016".
			return waerr.New(waerr.RowCount, "Parameter '%s.rows' has no rows; every section needs at least 1 row", sectionPath(i))
		}
		total += len(s.Rows)
	}
	if total > maxRows {
		return waerr.New(waerr.RowCount, "Parameter '%s.sections' has %d rows in total; at most %d rows are allowed across all sections", p, total, maxRows)
	}
	// Paths are formatted only for an error: this loop runs for every list message.
	type at struct{ i, j int }
	ids := make(map[string]at, total)
	for i, s := range a.Sections {
		if e := checkSectionTitle(i, s.Title, len(a.Sections)); e != nil {
			return e
		}
		for j, r := range s.Rows {
			rp := func() string { return fmt.Sprintf("%s.rows[%d]", sectionPath(i), j) }
			if r.ID == "" {
				return errMissing(rp() + ".id")
			}
			if n := charCount(r.ID); n > maxRowID {
				return errTooLong(waerr.InvalidParam, rp()+".id", n, maxRowID)
			}
			if first, dup := ids[r.ID]; dup {
				// seed 003 (1009): "check that every row's ID is unique".
				return errDuplicate(rp()+".id", r.ID, fmt.Sprintf("%s.rows[%d].id", sectionPath(first.i), first.j), "row ids")
			}
			ids[r.ID] = at{i, j}
			if r.Title == "" {
				return errMissing(rp() + ".title")
			}
			if n := charCount(r.Title); n > maxRowTitle {
				return errTooLong(waerr.InvalidParam, rp()+".title", n, maxRowTitle)
			}
			if n := charCount(r.Description); n > maxRowDesc {
				return errTooLong(waerr.InvalidParam, rp()+".description", n, maxRowDesc)
			}
		}
	}
	return nil
}

func sectionPath(i int) string { return "interactive.action.sections[" + strconv.Itoa(i) + "]" }

func checkSectionCount(ss []wa.Section) *waerr.Error {
	if ss == nil {
		return errMissing("interactive.action.sections")
	}
	if len(ss) < 1 || len(ss) > maxSections {
		return waerr.New(waerr.SectionCount, "Parameter 'interactive.action.sections' has %d sections; it must have 1 to %d", len(ss), maxSections)
	}
	return nil
}

// checkSectionTitle: required when there is more than one section, ≤ 24 (§8.7).
func checkSectionTitle(i int, title string, sections int) *waerr.Error {
	if title == "" {
		if sections > 1 {
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s.title': a title is required when there is more than one section", sectionPath(i))
		}
		return nil
	}
	if n := charCount(title); n > maxSectionTitle {
		return errTooLong(waerr.InvalidParam, sectionPath(i)+".title", n, maxSectionTitle)
	}
	return nil
}

// replyButtons: 1–3 buttons (1009, §8.7b); type "reply"; id ≤ 256, unique, no leading or
// trailing spaces (2017); title non-empty, ≤ 20, unique, no markdown or newlines (2017).
func (v *msgValidator) replyButtons(a *wa.Action) *waerr.Error {
	const p = "interactive.action.buttons"
	if a.Buttons == nil {
		return errMissing(p)
	}
	if n := len(a.Buttons); n < 1 || n > maxReplyButtons {
		return waerr.New(waerr.InvalidParam, "Parameter '%s' has %d buttons; it must have 1 to %d", p, n, maxReplyButtons)
	}
	var ids, titles [maxReplyButtons]string
	for i, b := range a.Buttons {
		bp := func() string { return p + "[" + strconv.Itoa(i) + "]" }
		if b.Type == "" {
			return errMissing(bp() + ".type")
		}
		if b.Type != "reply" {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has invalid value '%s'; the only supported value is 'reply'", bp(), clipValue(b.Type))
		}
		if b.Reply == nil {
			return errMissing(bp() + ".reply")
		}
		r := b.Reply
		if r.ID == "" {
			return errMissing(bp() + ".reply.id")
		}
		if n := charCount(r.ID); n > maxReplyID {
			return errTooLong(waerr.InvalidParam, bp()+".reply.id", n, maxReplyID)
		}
		if strings.TrimSpace(r.ID) != r.ID {
			return errCharPolicy(bp()+".reply.id", "has leading or trailing spaces")
		}
		for k := 0; k < i; k++ {
			if ids[k] == r.ID {
				return errDuplicate(bp()+".reply.id", r.ID, fmt.Sprintf("%s[%d].reply.id", p, k), "button ids")
			}
		}
		ids[i] = r.ID
		if r.Title == "" {
			return errMissing(bp() + ".reply.title")
		}
		if n := charCount(r.Title); n > maxReplyTitle {
			return errTooLong(waerr.InvalidParam, bp()+".reply.title", n, maxReplyTitle)
		}
		if why := markdownOrNewline(r.Title); why != "" {
			return errCharPolicy(bp()+".reply.title", why)
		}
		for k := 0; k < i; k++ {
			if titles[k] == r.Title {
				return errDuplicate(bp()+".reply.title", r.Title, fmt.Sprintf("%s[%d].reply.title", p, k), "button titles")
			}
		}
		titles[i] = r.Title
	}
	return nil
}

// product: catalog_id and product_retailer_id required, the latter ≤ 100 (§8.7).
func (v *msgValidator) product(a *wa.Action) *waerr.Error {
	const p = "interactive.action"
	if a.CatalogID == "" {
		return errMissing(p + ".catalog_id")
	}
	if a.ProductRetailerID == "" {
		return errMissing(p + ".product_retailer_id")
	}
	if n := charCount(a.ProductRetailerID); n > maxRetailerID {
		return errTooLong(waerr.InvalidParam, p+".product_retailer_id", n, maxRetailerID)
	}
	return nil
}

// productList: catalog_id required; 1–10 sections (2015); ≥ 1 product per section and ≤ 30 in all
// (2023); product_retailer_id ≤ 100 (§8.7, §8.7b).
func (v *msgValidator) productList(a *wa.Action) *waerr.Error {
	const p = "interactive.action"
	if a.CatalogID == "" {
		return errMissing(p + ".catalog_id")
	}
	if e := checkSectionCount(a.Sections); e != nil {
		return e
	}
	total := 0
	for i, s := range a.Sections {
		if s.Rows != nil {
			return errNotRequired(sectionPath(i)+".rows", "interactive type", "product_list")
		}
		if len(s.ProductItems) == 0 {
			return waerr.New(waerr.ProductCount, "Parameter '%s.product_items' has no products; every section needs at least 1 product", sectionPath(i))
		}
		total += len(s.ProductItems)
	}
	if total > maxProducts {
		return waerr.New(waerr.ProductCount, "Parameter '%s.sections' has %d products in total; at most %d products are allowed across all sections", p, total, maxProducts)
	}
	for i, s := range a.Sections {
		if e := checkSectionTitle(i, s.Title, len(a.Sections)); e != nil {
			return e
		}
		for j, it := range s.ProductItems {
			ip := func() string { return fmt.Sprintf("%s.product_items[%d].product_retailer_id", sectionPath(i), j) }
			if it.ProductRetailerID == "" {
				return errMissing(ip())
			}
			if n := charCount(it.ProductRetailerID); n > maxRetailerID {
				return errTooLong(waerr.InvalidParam, ip(), n, maxRetailerID)
			}
		}
	}
	return nil
}

// namedAction validates the actions that are a name plus optional parameters: catalog_message
// (parameters.thumbnail_product_retailer_id, optional) and location_request_message (name
// "send_location"), cloud-api.md §2.3.
func (v *msgValidator) namedAction(a *wa.Action, name string) *waerr.Error {
	const p = "interactive.action"
	if a.Name == "" {
		return errMissing(p + ".name")
	}
	if a.Name != name {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.name' has invalid value '%s'; use '%s'", p, clipValue(a.Name), name)
	}
	if a.Parameters == nil {
		return nil
	}
	ap := a.Parameters
	if !ap.FlowFields.IsZero() {
		return errNotRequired(p+".parameters."+firstFlowField(&ap.FlowFields), "interactive type", "catalog_message")
	}
	if ap.DisplayText != "" {
		return errNotRequired(p+".parameters.display_text", "interactive type", "catalog_message")
	}
	if ap.URL != "" {
		return errNotRequired(p+".parameters.url", "interactive type", "catalog_message")
	}
	if n := charCount(ap.ThumbnailProductRetailerID); n > maxRetailerID {
		return errTooLong(waerr.InvalidParam, p+".parameters.thumbnail_product_retailer_id", n, maxRetailerID)
	}
	return nil
}

// ctaURL (Cloud only): name "cta_url"; parameters.display_text ≤ 20 with no markdown (it is a
// button title, §8.7b → 2017); parameters.url an http(s) URL (cloud-api.md §2.3).
func (v *msgValidator) ctaURL(a *wa.Action) *waerr.Error {
	const p = "interactive.action"
	if a.Name == "" {
		return errMissing(p + ".name")
	}
	if a.Name != "cta_url" {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.name' has invalid value '%s'; use 'cta_url'", p, clipValue(a.Name))
	}
	if a.Parameters == nil {
		return errMissing(p + ".parameters")
	}
	ap := a.Parameters
	if !ap.FlowFields.IsZero() {
		return errNotRequired(p+".parameters."+firstFlowField(&ap.FlowFields), "interactive type", "cta_url")
	}
	if ap.ThumbnailProductRetailerID != "" {
		return errNotRequired(p+".parameters.thumbnail_product_retailer_id", "interactive type", "cta_url")
	}
	if ap.DisplayText == "" {
		return errMissing(p + ".parameters.display_text")
	}
	if n := charCount(ap.DisplayText); n > maxCTADisplay {
		return errTooLong(waerr.InvalidParam, p+".parameters.display_text", n, maxCTADisplay)
	}
	if why := markdownOrNewline(ap.DisplayText); why != "" {
		return errCharPolicy(p+".parameters.display_text", why)
	}
	if ap.URL == "" {
		return errMissing(p + ".parameters.url")
	}
	if !isHTTPURL(ap.URL) {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.parameters.url' has invalid value '%s'; it must be an http:// or https:// URL", p, clipValue(ap.URL))
	}
	return nil
}

// flow validates a Flow message (onprem-api.md §8.7 "flow action fields"; cloud-api.md §2.3). The
// seed puts the fields in `action`, Cloud in `action.parameters` with name "flow"; either is
// accepted (not both), and the message is stored in Cloud's shape.
func (v *msgValidator) flow(a *wa.Action) *waerr.Error {
	base := "interactive.action"
	f := &a.FlowFields
	atAction := !a.FlowFields.IsZero()
	if a.Parameters != nil {
		ap := a.Parameters
		if atAction && !ap.FlowFields.IsZero() {
			return waerr.New(waerr.UnexpectedParam, "Parameter 'interactive.action.%s' is not required: send the Flow parameters either in 'interactive.action' or in 'interactive.action.parameters', not both", firstFlowField(&a.FlowFields))
		}
		if ap.DisplayText != "" {
			return errNotRequired(base+".parameters.display_text", "interactive type", "flow")
		}
		if ap.URL != "" {
			return errNotRequired(base+".parameters.url", "interactive type", "flow")
		}
		if ap.ThumbnailProductRetailerID != "" {
			return errNotRequired(base+".parameters.thumbnail_product_retailer_id", "interactive type", "flow")
		}
		if !atAction {
			f, base = &ap.FlowFields, base+".parameters"
		}
	}
	if a.Name != "" && a.Name != "flow" {
		return waerr.New(waerr.InvalidParam, "Parameter 'interactive.action.name' has invalid value '%s'; use 'flow'", clipValue(a.Name))
	}
	if v.d == wa.Cloud && !atAction && a.Name == "" {
		return errMissing("interactive.action.name")
	}
	if f.IsZero() && !atAction && a.Parameters == nil {
		return errMissing(base + ".parameters")
	}
	// flow_message_version: required, "3". §8.7b makes a value outside the allowed set 1009
	// (the catalogue's 2064 "invalid Flow message version" is an UNCONFIRMED number).
	if f.FlowMessageVersion == "" {
		return errMissing(base + ".flow_message_version")
	}
	if f.FlowMessageVersion != "3" {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.flow_message_version' has invalid value '%s'; the only supported value is '3'", base, clipValue(f.FlowMessageVersion))
	}
	// flow_token: required on On-Prem; Cloud defaults it to "unused".
	if f.FlowToken == "" && v.d == wa.OnPrem {
		return errMissing(base + ".flow_token")
	}
	// flow_id: required on On-Prem; Cloud takes flow_id or flow_name.
	if v.d == wa.OnPrem {
		if f.FlowName != "" {
			return errOtherDialect(base+".flow_name", v.d)
		}
		if f.FlowID == "" {
			return errMissing(base + ".flow_id")
		}
	} else {
		switch {
		case f.FlowID != "" && f.FlowName != "":
			return waerr.New(waerr.UnexpectedParam, "Exactly one of the following parameters must be present: '%s.flow_id', '%s.flow_name'", base, base)
		case f.FlowID == "" && f.FlowName == "":
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter: one of '%s.flow_id', '%s.flow_name' must be present", base, base)
		}
	}
	// flow_cta: required, ≤ 20 with no emoji (On-Prem seed) or ≤ 30 (Cloud "should"), §19 item 6;
	// emoji, markdown and newlines → 2017 (§8.7b).
	if f.FlowCTA == "" {
		return errMissing(base + ".flow_cta")
	}
	max := maxFlowCTAOnPrem
	if v.d == wa.Cloud {
		max = maxFlowCTACloud
	}
	if n := charCount(f.FlowCTA); n > max {
		return errTooLong(waerr.InvalidParam, base+".flow_cta", n, max)
	}
	if hasEmoji(f.FlowCTA) {
		return errCharPolicy(base+".flow_cta", "contains an emoji; emoji are not allowed")
	}
	if why := markdownOrNewline(f.FlowCTA); why != "" {
		return errCharPolicy(base+".flow_cta", why)
	}
	if f.Mode != "" && f.Mode != "draft" && f.Mode != "published" {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.mode' has invalid value '%s'; use 'draft' or 'published'", base, clipValue(f.Mode))
	}
	if f.FlowAction != "" && f.FlowAction != "navigate" && f.FlowAction != "data_exchange" {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.flow_action' has invalid value '%s'; use 'navigate' or 'data_exchange'", base, clipValue(f.FlowAction))
	}
	// flow_action_payload: "required only if flow_action is navigate" (the default) on On-Prem;
	// Cloud defaults the screen to FIRST_ENTRY_SCREEN. Not for data_exchange (1010).
	pl := f.FlowActionPayload
	switch {
	case f.FlowAction == "data_exchange" && pl != nil:
		return errNotRequired(base+".flow_action_payload", "flow_action", "data_exchange")
	case pl == nil && f.FlowAction != "data_exchange" && v.d == wa.OnPrem:
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s.flow_action_payload': it is required when flow_action is 'navigate' (the default)", base)
	}
	if pl != nil {
		if pl.Screen == "" && v.d == wa.OnPrem {
			return errMissing(base + ".flow_action_payload.screen")
		}
		if len(pl.Data) > 0 && !bytes.Equal(bytes.TrimSpace(pl.Data), []byte("null")) {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(pl.Data, &obj); err != nil || len(obj) == 0 {
				return waerr.New(waerr.InvalidParam, "Parameter '%s.flow_action_payload.data' has invalid value '%s'; it must be a non-empty JSON object", base, clipValue(string(pl.Data)))
			}
		}
	}
	// Store Cloud's shape.
	if atAction {
		if a.Parameters == nil {
			a.Parameters = &wa.ActionParameters{}
		}
		a.Parameters.FlowFields, a.FlowFields = a.FlowFields, wa.FlowFields{}
	}
	if a.Name == "" {
		a.Name = "flow"
	}
	return nil
}

func firstFlowField(f *wa.FlowFields) string {
	for _, x := range []struct {
		name string
		set  bool
	}{
		{"flow_message_version", f.FlowMessageVersion != ""},
		{"flow_token", f.FlowToken != ""},
		{"flow_id", f.FlowID != ""},
		{"flow_name", f.FlowName != ""},
		{"flow_cta", f.FlowCTA != ""},
		{"mode", f.Mode != ""},
		{"flow_action", f.FlowAction != ""},
	} {
		if x.set {
			return x.name
		}
	}
	return "flow_action_payload"
}

// ---- templates (onprem-api.md §14) ----

var (
	templateComponentTypes = []string{"header", "body", "footer", "button"}
	onPremButtonSubTypes   = []string{"quick_reply", "url", "copy_code"}
	// cloud-api.md §2.3; compared in lower case (§13 item 15: CATALOG / COPY_CODE in upper case).
	cloudButtonSubTypes = []string{"quick_reply", "url", "copy_code", "flow", "mpm", "catalog", "order_details"}
	onPremParamTypes    = []string{"text", "currency", "date_time", "image", "document", "video"}
	cloudParamTypes     = []string{"text", "currency", "date_time", "image", "document", "video", "location", "product", "tap_target_configuration"}
)

// template validates a template send (onprem-api.md §14.1; cloud-api.md §2.3). It does not look
// the template up: existence, parameter counts, formats and lengths against the definition
// (2000–2005, 2008, 2012) are the template store's checks.
func (v *msgValidator) template(t *wa.Template) *waerr.Error {
	const p = "template"
	// namespace: optional from v2.41 (§14.1). Cloud does not use it; it is accepted and ignored.
	if t.Name == "" {
		return errMissing(p + ".name")
	}
	if n := charCount(t.Name); n > maxTemplateName {
		return errTooLong(waerr.InvalidParam, p+".name", n, maxTemplateName)
	}
	if !isTemplateName(t.Name) {
		return waerr.New(waerr.InvalidParam, "Parameter 'template.name' has invalid value '%s'; template names are lowercase letters, digits and '_'", clipValue(t.Name))
	}
	if t.Language == nil {
		return errMissing(p + ".language")
	}
	l := t.Language
	if l.Code == "" {
		return errMissing(p + ".language.code")
	}
	if !isLanguageCode(l.Code) {
		return waerr.New(waerr.InvalidParam, "Parameter 'template.language.code' has invalid value '%s'; use a language code such as 'en' or 'en_US'", clipValue(l.Code))
	}
	// policy: On-Prem requires it ([WEBAPP] validateNestedLanguageObject: getMandatoryParam with
	// {fallback, deterministic}; §14.1); Cloud makes it optional and allows only deterministic
	// (cloud-api.md §2.3, §12 item 6).
	switch {
	case v.d == wa.OnPrem && l.Policy == "":
		return errMissing(p + ".language.policy")
	case v.d == wa.OnPrem && l.Policy != "deterministic" && l.Policy != "fallback":
		return waerr.New(waerr.InvalidParam, "Parameter 'template.language.policy' has invalid value '%s'; use 'deterministic' ('fallback' is deprecated since v2.27.8)", clipValue(l.Policy))
	case v.d == wa.Cloud && l.Policy != "" && l.Policy != "deterministic":
		return waerr.New(waerr.InvalidParam, "Parameter 'template.language.policy' has invalid value '%s'; the only supported value is 'deterministic'", clipValue(l.Policy))
	}
	seen := map[string]string{}
	indexes := map[int]string{}
	for i := range t.Components {
		c := &t.Components[i]
		cp := fmt.Sprintf("%s.components[%d]", p, i)
		if c.Type == "" {
			return errMissing(cp + ".type")
		}
		ct := strings.ToLower(c.Type)
		if !inSet(ct, templateComponentTypes) {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has invalid value '%s'; use one of: %s", cp, clipValue(c.Type), strings.Join(templateComponentTypes, ", "))
		}
		if ct == "button" {
			if e := v.buttonComponent(cp, c, indexes); e != nil {
				return e
			}
			continue
		}
		if first, dup := seen[ct]; dup {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has the value '%s' already used at '%s'; a template has one %s component", cp, ct, first, ct)
		}
		seen[ct] = cp
		if c.SubType != "" {
			return errNotRequired(cp+".sub_type", "component type", ct)
		}
		if c.Index != nil {
			return errNotRequired(cp+".index", "component type", ct)
		}
		if ct == "footer" && c.Parameters != nil {
			return errNotRequired(cp+".parameters", "component type", "footer")
		}
		for j := range c.Parameters {
			pp := fmt.Sprintf("%s.parameters[%d]", cp, j)
			if e := v.templateParam(pp, &c.Parameters[j], ct); e != nil {
				return e
			}
			if ct == "header" && isMediaParam(c.Parameters[j].Type) && l.Policy == "fallback" {
				// §14.1: "Media templates allow only deterministic."
				return waerr.New(waerr.InvalidParam, "Parameter 'template.language.policy' has invalid value 'fallback'; media templates allow only 'deterministic'")
			}
		}
	}
	return nil
}

// buttonComponent: sub_type quick_reply/url/copy_code (§14.1; Cloud adds more), index 0–9 as an
// integer or a string (§19 item 5), one component per index, and the parameter each sub_type
// needs: payload (quick_reply), text (url), coupon_code (copy_code).
func (v *msgValidator) buttonComponent(cp string, c *wa.TemplateComponent, indexes map[int]string) *waerr.Error {
	if c.SubType == "" {
		return errMissing(cp + ".sub_type")
	}
	st := strings.ToLower(c.SubType)
	allowed := onPremButtonSubTypes
	if v.d == wa.Cloud {
		allowed = cloudButtonSubTypes
	}
	if !inSet(st, allowed) {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.sub_type' has invalid value '%s'; the %s supports: %s", cp, clipValue(c.SubType), v.d, strings.Join(allowed, ", "))
	}
	if c.Index == nil || *c.Index == "" {
		return errMissing(cp + ".index")
	}
	idx, err := strconv.Atoi(string(*c.Index))
	if err != nil || idx < 0 || idx > maxButtonIndex {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.index' has invalid value '%s'; it must be a button position from 0 to %d", cp, clipValue(string(*c.Index)), maxButtonIndex)
	}
	if first, dup := indexes[idx]; dup {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.index' has the value '%d' already used at '%s'; each button index may appear once", cp, idx, first)
	}
	indexes[idx] = cp + ".index"
	need := map[string]string{"quick_reply": "payload", "url": "text", "copy_code": "coupon_code"}[st]
	if need == "" {
		// Cloud's flow, catalog, mpm and order_details buttons carry an `action` parameter
		// whose contents depend on the template; checked when the template is looked up.
		for j := range c.Parameters {
			if c.Parameters[j].Type == "" {
				return errMissing(fmt.Sprintf("%s.parameters[%d].type", cp, j))
			}
		}
		return nil
	}
	if len(c.Parameters) == 0 {
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s.parameters': a %s button needs a '%s' parameter", cp, st, need)
	}
	for j := range c.Parameters {
		pp := fmt.Sprintf("%s.parameters[%d]", cp, j)
		q := &c.Parameters[j]
		if q.Type == "" {
			return errMissing(pp + ".type")
		}
		if q.Type != need {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has invalid value '%s'; a %s button takes a '%s' parameter", pp, clipValue(q.Type), st, need)
		}
		if e := v.paramFields(pp, q); e != nil {
			return e
		}
		val := map[string]string{"payload": q.Payload, "text": q.Text, "coupon_code": q.CouponCode}[need]
		if val == "" {
			return errMissing(pp + "." + need)
		}
	}
	return nil
}

// templateParam validates one header or body parameter.
func (v *msgValidator) templateParam(pp string, q *wa.TemplateParameter, component string) *waerr.Error {
	if q.Type == "" {
		return errMissing(pp + ".type")
	}
	allowed := onPremParamTypes
	if v.d == wa.Cloud {
		allowed = cloudParamTypes
	}
	if !inSet(q.Type, allowed) {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has invalid value '%s'; the %s supports: %s", pp, clipValue(q.Type), v.d, strings.Join(allowed, ", "))
	}
	if isMediaParam(q.Type) && component != "header" {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.type' has invalid value '%s'; media parameters belong in the header component", pp, q.Type)
	}
	if e := v.paramFields(pp, q); e != nil {
		return e
	}
	switch q.Type {
	case "text":
		if q.Text == "" {
			return errMissing(pp + ".text")
		}
		// Template White Space Policy (2006, errors.md §2.7): no newlines, tabs or more than four
		// consecutive spaces in parameters.
		if why := templateWhitespaceProblem(q.Text); why != "" {
			return waerr.New(waerr.TemplateWhitespacePolicy, "Parameter '%s.text' %s; template parameters cannot contain newlines, tabs or more than 4 consecutive spaces", pp, why)
		}
		// Template Format Character Policy (2007 / 132007, errors.md §2.7, which names the code
		// but gives no trigger). Our choice: a header's text parameter may not hold emoji or the
		// WhatsApp formatting characters * _ ~ ` — Meta's template guidelines forbid them in
		// header text, and a value would bring them in. Newlines are forbidden there too, but
		// the whitespace rule above runs first and answers them with 2006 in every component,
		// so a header value with a newline and an emoji is 2006.
		if component == "header" {
			if why := templateHeaderFormatProblem(q.Text); why != "" {
				return waerr.New(waerr.TemplateFormatCharPolicy, "Parameter '%s.text' %s; a template header's text parameter cannot contain newlines, emoji or the formatting characters * _ ~ `", pp, why)
			}
		}
	case "currency":
		return validateCurrency(pp+".currency", q.Currency)
	case "date_time":
		return validateDateTime(pp+".date_time", q.DateTime)
	case "image", "document", "video":
		md := map[string]*wa.Media{"image": q.Image, "document": q.Document, "video": q.Video}[q.Type]
		if md == nil {
			return errMissing(pp + "." + q.Type)
		}
		return v.media(pp+"."+q.Type, md, q.Type, mediaInTemplate)
	case "location":
		if q.Location == nil {
			return errMissing(pp + ".location")
		}
		return v.location(pp+".location", q.Location)
	}
	return nil
}

// paramFields refuses value fields that do not belong to the parameter's type (1010), and
// Cloud's parameter_name on On-Prem.
func (v *msgValidator) paramFields(pp string, q *wa.TemplateParameter) *waerr.Error {
	if q.ParameterName != "" && v.d == wa.OnPrem {
		return errOtherDialect(pp+".parameter_name", v.d)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"text", q.Text != ""},
		{"payload", q.Payload != ""},
		{"coupon_code", q.CouponCode != ""},
		{"currency", q.Currency != nil},
		{"date_time", q.DateTime != nil},
		{"image", q.Image != nil},
		{"document", q.Document != nil},
		{"video", q.Video != nil},
		{"location", q.Location != nil},
		{"action", len(q.Action) > 0},
	} {
		if f.set && f.name != q.Type {
			return errNotRequired(pp+"."+f.name, "parameter type", q.Type)
		}
	}
	return nil
}

// validateCurrency: fallback_value, code (ISO 4217) and amount_1000 (§14.1).
func validateCurrency(p string, c *wa.Currency) *waerr.Error {
	if c == nil {
		return errMissing(p)
	}
	if c.FallbackValue == "" {
		return errMissing(p + ".fallback_value")
	}
	if c.Code == "" {
		return errMissing(p + ".code")
	}
	if !isCurrencyCode(c.Code) {
		return waerr.New(waerr.InvalidParam, "Parameter '%s.code' has invalid value '%s'; use an ISO 4217 currency code such as 'USD'", p, clipValue(c.Code))
	}
	if c.Amount1000 == nil {
		return errMissing(p + ".amount_1000")
	}
	return nil
}

// validateDateTime: fallback_value plus either the components or a timestamp (§14.1).
func validateDateTime(p string, d *wa.DateTime) *waerr.Error {
	if d == nil {
		return errMissing(p)
	}
	if d.FallbackValue == "" {
		return errMissing(p + ".fallback_value")
	}
	hasParts := d.DayOfWeek != nil || d.DayOfMonth != nil || d.Year != nil || d.Month != nil || d.Hour != nil || d.Minute != nil
	if d.Timestamp != nil {
		if hasParts {
			return waerr.New(waerr.UnexpectedParam, "Parameter '%s.timestamp' is not required when date components are given; send either 'timestamp' or the components", p)
		}
		if *d.Timestamp < 0 {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.timestamp' has invalid value '%d'; use seconds since 1970-01-01 UTC", p, *d.Timestamp)
		}
		return nil
	}
	for _, r := range []struct {
		name     string
		v        *int
		min, max int
	}{
		{"day_of_week", d.DayOfWeek, 1, 7}, // 1–7 = Monday–Sunday
		{"day_of_month", d.DayOfMonth, 1, 31},
		{"year", d.Year, 1, 9999},
		{"month", d.Month, 1, 12},
		{"hour", d.Hour, 0, 23},
		{"minute", d.Minute, 0, 59},
	} {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return waerr.New(waerr.InvalidParam, "Parameter '%s.%s' has invalid value '%d'; it must be from %d to %d", p, r.name, *r.v, r.min, r.max)
		}
	}
	return nil
}

// hsmShape is the legacy hsm object (onprem-api.md §14.2).
type hsmShape struct {
	Namespace         *string                `json:"namespace"`
	ElementName       *string                `json:"element_name"`
	Language          *wa.TemplateLanguage   `json:"language"`
	FallbackLg        *string                `json:"fallback_lg"`
	FallbackLc        *string                `json:"fallback_lc"`
	LocalizableParams *[]hsmLocalizableParam `json:"localizable_params"`
}

type hsmLocalizableParam struct {
	Default *string `json:"default"`
}

// hsm checks the legacy object's shape and then refuses it: the type was retired in v2.39
// (onprem-api.md §14.2 and §19 item 1; waba emulates v2.45.1). The shape is checked first so that
// §8.7b's "required field missing (incl. hsm.localizable_params) → 1008" holds: a client that
// gets 1008 fixes its hsm and then learns, with 1009, to move to templates.
func (v *msgValidator) hsm(raw json.RawMessage) *waerr.Error {
	var h hsmShape
	if err := json.Unmarshal(raw, &h); err != nil {
		return waerr.New(waerr.InvalidParam, "Parameter 'hsm' has invalid value: %s", plainJSONError(err))
	}
	if h.Namespace == nil || *h.Namespace == "" {
		return errMissing("hsm.namespace")
	}
	if h.ElementName == nil || *h.ElementName == "" {
		return errMissing("hsm.element_name")
	}
	// [WEBAPP] validateNestedLanguageObject: language excludes the legacy fallback_lg/fallback_lc.
	if h.Language != nil && h.FallbackLg != nil {
		return waerr.New(waerr.UnexpectedParam, "Exactly one of the following parameters must be present: 'hsm.language', 'hsm.fallback_lg'")
	}
	if h.Language != nil && h.FallbackLc != nil {
		return waerr.New(waerr.UnexpectedParam, "Exactly one of the following parameters must be present: 'hsm.language', 'hsm.fallback_lc'")
	}
	if h.Language == nil {
		return errMissing("hsm.language")
	}
	if h.Language.Code == "" {
		return errMissing("hsm.language.code")
	}
	if h.Language.Policy == "" {
		return errMissing("hsm.language.policy")
	}
	if h.Language.Policy != "deterministic" && h.Language.Policy != "fallback" {
		return waerr.New(waerr.InvalidParam, "Parameter 'hsm.language.policy' has invalid value '%s'; use 'deterministic'", clipValue(h.Language.Policy))
	}
	if h.LocalizableParams == nil {
		return errMissing("hsm.localizable_params")
	}
	for i, lp := range *h.LocalizableParams {
		if lp.Default == nil {
			return errMissing(fmt.Sprintf("hsm.localizable_params[%d].default", i))
		}
	}
	return waerr.New(waerr.InvalidParam, "Parameter 'type' has invalid value 'hsm': the hsm type was retired in v2.39 of the On-Premises API; send type 'template' with a 'template' object (name, language, components) instead")
}

// ---- helpers ----

func errMissing(path string) *waerr.Error {
	return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s'", path)
}

// errNotRequired is the WebApp's 1010 wording: "Parameter 'x' is not required for type 'y'".
func errNotRequired(path, depName, depValue string) *waerr.Error {
	return waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not required for %s '%s'", path, depName, depValue)
}

func errOtherDialect(path string, d wa.Dialect) *waerr.Error {
	other := wa.Cloud
	if d == wa.Cloud {
		other = wa.OnPrem
	}
	return waerr.New(waerr.UnexpectedParam, "Parameter '%s' is not a parameter of the %s (it belongs to the %s)", path, d, other)
}

func errTooLong(c *waerr.Condition, path string, n, max int) *waerr.Error {
	return waerr.New(c, "Parameter '%s' is too long: %d characters, the maximum is %d", path, n, max)
}

func errDuplicate(path, value, first, what string) *waerr.Error {
	return waerr.New(waerr.InvalidParam, "Parameter '%s' has the value '%s' already used at '%s'; %s must be unique", path, clipValue(value), first, what)
}

func errCharPolicy(path, why string) *waerr.Error {
	return waerr.New(waerr.CharacterPolicy, "Parameter '%s' %s", path, why)
}

func inSet(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func charCount(s string) int { return utf8.RuneCountInString(s) }

// clipValue shortens a client value quoted in details to at most 64 characters.
func clipValue(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	sch := strings.ToLower(u.Scheme)
	return sch == "http" || sch == "https"
}

func isMediaParam(t string) bool { return t == "image" || t == "document" || t == "video" }

func isTemplateName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// isLanguageCode accepts "en", "fil", "en_US" and "es_419"-style codes (§14.1: "code accepts en or
// en_US").
func isLanguageCode(s string) bool {
	lang, region, hasRegion := strings.Cut(s, "_")
	if len(lang) < 2 || len(lang) > 3 {
		return false
	}
	for i := 0; i < len(lang); i++ {
		if lang[i] < 'a' || lang[i] > 'z' {
			return false
		}
	}
	if !hasRegion {
		return true
	}
	switch len(region) {
	case 2:
		return region[0] >= 'A' && region[0] <= 'Z' && region[1] >= 'A' && region[1] <= 'Z'
	case 3:
		for i := 0; i < 3; i++ {
			if region[i] < '0' || region[i] > '9' {
				return false
			}
		}
		return true
	}
	return false
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// markdownOrNewline returns why s breaks the "no markdown" rule of header texts and button
// titles (§8.7; 2017 per §8.7b), or "". Markdown is WhatsApp's own (§8.3 / §8.11): *bold*,
// _italic_, ~strikethrough~ and ```monospace```. A marker counts only as a pair enclosing
// non-space text, the way WhatsApp renders it, so "Yes_No" or "5 * 3" are not markdown.
func markdownOrNewline(s string) string {
	if strings.ContainsAny(s, "\n\r") {
		return "contains a newline; newlines are not allowed"
	}
	if strings.Contains(s, "```") {
		return "contains markdown ('```'); markdown is not allowed"
	}
	for _, m := range []byte{'*', '_', '~'} {
		if hasMarkdownPair(s, m) {
			return fmt.Sprintf("contains markdown ('%c…%c'); markdown is not allowed", m, m)
		}
	}
	return ""
}

func hasMarkdownPair(s string, m byte) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] != m || (i > 0 && isMarkdownWordByte(s[i-1])) || s[i+1] == ' ' || s[i+1] == m {
			continue
		}
		for j := i + 2; j < len(s); j++ {
			if s[j] == m && s[j-1] != ' ' && (j+1 == len(s) || !isMarkdownWordByte(s[j+1])) {
				return true
			}
		}
	}
	return false
}

func isMarkdownWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// hasEmoji reports whether s holds an emoji: a code point in the pictographic blocks, a
// variation selector 16 or a zero-width joiner. (Go's unicode tables have no
// Extended_Pictographic property; these blocks cover what phones show as emoji.)
func hasEmoji(s string) bool {
	for _, r := range s {
		switch {
		case r >= 0x1F000 && r <= 0x1FAFF, // mahjong … symbols and pictographs extended-A, incl. flags
			r >= 0x2600 && r <= 0x27BF, // miscellaneous symbols, dingbats
			r >= 0x2B00 && r <= 0x2BFF, // arrows and stars (⭐, ⬆)
			r >= 0x2190 && r <= 0x21FF, // arrows (↩)
			r >= 0x2300 && r <= 0x23FF, // technical (⌚, ⏰)
			r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
			r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299,
			r == 0xFE0F, r == 0x200D, r == 0x20E3:
			return true
		}
	}
	return false
}

// templateWhitespaceProblem returns why s breaks the template whitespace policy, or "".
func templateWhitespaceProblem(s string) string {
	if strings.ContainsAny(s, "\n\r") {
		return "contains a newline"
	}
	if strings.ContainsRune(s, '\t') {
		return "contains a tab"
	}
	if strings.Contains(s, "     ") {
		return "contains more than 4 consecutive spaces"
	}
	return ""
}

// templateHeaderFormatProblem returns why s breaks the header format-character policy (2007),
// or "".
func templateHeaderFormatProblem(s string) string {
	if i := strings.IndexAny(s, "*_~`"); i >= 0 {
		return fmt.Sprintf("contains the formatting character '%c'", s[i])
	}
	if hasEmoji(s) {
		return "contains an emoji"
	}
	return ""
}

// plainJSONError is a JSON error without Go type names.
func plainJSONError(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		if te.Field == "" {
			return "expected a JSON object, got " + te.Value
		}
		return fmt.Sprintf("field '%s' has the wrong type (%s)", te.Field, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
