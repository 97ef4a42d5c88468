package wa

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

// Dialect says which wire format a request came in. Validation differs between them only where
// the references say so (shared/reference/onprem-api.md §8, cloud-api.md §2).
type Dialect int

const (
	// OnPrem is the On-Premises `/v1` API.
	OnPrem Dialect = iota + 1
	// Cloud is the Graph (Cloud API) dialect.
	Cloud
)

func (d Dialect) String() string {
	switch d {
	case OnPrem:
		return "On-Premises API"
	case Cloud:
		return "Cloud API"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Message is one outbound message, in either dialect. Field names and JSON tags are the wire
// names of both APIs, so decoding a request body into a Message and marshalling it back gives
// the normalised payload that is stored. Every optional part is a pointer, a slice or an
// omitempty string, so absent parts stay absent.
//
// Example (On-Prem, shared/reference/onprem-api.md §8.3):
//
//	{ "recipient_type": "individual", "to": "16315551234", "type": "text", "preview_url": true,
//	  "text": { "body": "Order *#1234* shipped: https://example.com/t/1234" } }
//
// Example (Cloud, shared/reference/cloud-api.md §2.1):
//
//	{ "messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
//	  "type": "text", "text": { "preview_url": true, "body": "…" },
//	  "context": { "message_id": "wamid.…" }, "biz_opaque_callback_data": "campaign-42" }
type Message struct {
	// MessagingProduct is Cloud only and always "whatsapp" (cloud-api.md §2.1).
	MessagingProduct string `json:"messaging_product,omitempty"`
	// RecipientType defaults to "individual" (onprem-api.md §8.1).
	RecipientType string `json:"recipient_type,omitempty"`
	To            string `json:"to,omitempty"`
	// Type defaults to "text" in both dialects (onprem-api.md §8.1; cloud-api.md §2.1).
	Type string `json:"type,omitempty"`
	// PreviewURL is On-Prem's top-level flag (onprem-api.md §8.1). Validation moves it into
	// Text.PreviewURL, Cloud's place for it, so the stored payload has one shape.
	PreviewURL *bool `json:"preview_url,omitempty"`
	// TTL is On-Prem's deprecated time-to-live: ISO-8601 ("P4D") or seconds ("3600" or 3600).
	TTL *TTL `json:"ttl,omitempty"`

	Text        *Text        `json:"text,omitempty"`
	Image       *Media       `json:"image,omitempty"`
	Audio       *Media       `json:"audio,omitempty"`
	Video       *Media       `json:"video,omitempty"`
	Document    *Media       `json:"document,omitempty"`
	Sticker     *Media       `json:"sticker,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	Contacts    []Contact    `json:"contacts,omitempty"`
	Interactive *Interactive `json:"interactive,omitempty"`
	Template    *Template    `json:"template,omitempty"`
	// HSM is the legacy On-Prem template object (onprem-api.md §14.2), kept raw: it is only
	// checked for shape and then refused, the type having been retired in v2.39.
	HSM      json.RawMessage `json:"hsm,omitempty"`
	Reaction *Reaction       `json:"reaction,omitempty"`

	// Context is Cloud only: a quoted reply (cloud-api.md §2.1).
	Context *Context `json:"context,omitempty"`
	// BizOpaqueCallbackData is Cloud only, ≤ 512 characters (cloud-api.md §2.1).
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
	// RecipientIdentityKeyHash is Cloud only (cloud-api.md §2.1).
	RecipientIdentityKeyHash string `json:"recipient_identity_key_hash,omitempty"`
	// Status is listed in the seed's parameter table as the way to mark a message read; it is
	// not part of a send (onprem-api.md §8.1, §8.12; cloud-api.md §3).
	Status string `json:"status,omitempty"`

	// DroppedCaption is waba's note that a document caption was accepted and dropped because the
	// On-Prem API does not deliver document captions (onprem-api.md §8.7b). It is set by
	// validation only, never read from a request: decoders treat the key as unknown.
	DroppedCaption string `json:"waba_dropped_caption,omitempty"`

	// UnknownParams lists, in document order, the request keys that are not part of the wire
	// format (misspelt, wrong letter case, or internal to waba). Decoders fill it; Validate answers
	// the first one with 1010 "Parameter is not required" (seed 003: "an unnecessary parameter is
	// included"). It is never stored.
	UnknownParams []UnknownParam `json:"-"`
}

// UnknownParam is a request key the wire format does not have.
type UnknownParam struct {
	Path string // e.g. "interactive.Header"
	// Suggestion is the wire name the key differs from only in letter case, if any. JSON
	// member names are case-sensitive on Meta's servers; Go's encoding/json is not, which is why
	// decoders look for such keys.
	Suggestion string
}

// Text is the text object (onprem-api.md §8.3; cloud-api.md §2.3).
type Text struct {
	Body       string `json:"body,omitempty"`
	PreviewURL *bool  `json:"preview_url,omitempty"`
}

// Media is the media object of image, audio, video, document and sticker messages, of
// interactive headers and of template parameters (onprem-api.md §8.4; cloud-api.md §2.3).
type Media struct {
	ID       string    `json:"id,omitempty"`
	Link     string    `json:"link,omitempty"`
	Caption  string    `json:"caption,omitempty"`
	Filename string    `json:"filename,omitempty"`
	Provider *Provider `json:"provider,omitempty"` // On-Prem only
	Voice    *bool     `json:"voice,omitempty"`    // Cloud audio only
}

// Provider names the media provider that holds the credentials for a link (On-Prem only,
// onprem-api.md §9.2). The seed's table calls it a string while its examples send
// `{"name": …}`; §8.7b says to accept the object. waba accepts both and stores the object.
type Provider struct {
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON accepts `"name"` as well as `{"name": "name"}`.
func (p *Provider) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.Name)
	}
	type provider Provider
	return json.Unmarshal(b, (*provider)(p))
}

// Location is the location object (onprem-api.md §8.5; cloud-api.md §2.3).
type Location struct {
	Longitude *Coordinate `json:"longitude,omitempty"`
	Latitude  *Coordinate `json:"latitude,omitempty"`
	Name      string      `json:"name,omitempty"`
	Address   string      `json:"address,omitempty"`
}

// Coordinate is a latitude or longitude in decimal degrees. Cloud's docs send them as strings
// and Meta's OpenAPI examples as numbers (cloud-api.md §2.3 "accept both"); waba accepts both in
// both dialects and stores a number.
type Coordinate float64

// UnmarshalJSON accepts a JSON number or a string holding a finite decimal number.
func (c *Coordinate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else if len(b) > 0 && (b[0] == '{' || b[0] == '[' || b[0] == 't' || b[0] == 'f') {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Coordinate]()}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return &json.UnmarshalTypeError{Value: jsonKind(b) + " " + strconv.Quote(s), Type: reflect.TypeFor[Coordinate]()}
	}
	*c = Coordinate(f)
	return nil
}

// Contact is one contact card (onprem-api.md §8.6; cloud-api.md §2.3).
type Contact struct {
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	IMs       []ContactIM      `json:"ims,omitempty"` // seen in inbound payloads and Meta's Postman collection
	Name      *ContactName     `json:"name,omitempty"`
	Org       *ContactOrg      `json:"org,omitempty"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
}

// ContactAddress is one entry of a card's addresses.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ContactEmail is one entry of a card's emails.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactIM is one entry of a card's instant-messaging handles.
type ContactIM struct {
	Service string `json:"service,omitempty"`
	UserID  string `json:"user_id,omitempty"`
}

// ContactName is a card's name; FormattedName plus at least one other part is required.
type ContactName struct {
	FormattedName string `json:"formatted_name,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactOrg is a card's organisation.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactPhone is one entry of a card's phones. The seed's sample writes "wa-id" where its
// table says "wa_id" (onprem-api.md §8.6, §19 item 7); both are accepted on decode and the
// stored card has wa_id only.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	Type  string `json:"type,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
}

// UnmarshalJSON folds the "wa-id" alias into WaID; "wa_id" wins when both are present.
func (p *ContactPhone) UnmarshalJSON(b []byte) error {
	var q struct {
		Phone string `json:"phone"`
		Type  string `json:"type"`
		WaID  string `json:"wa_id"`
		Alias string `json:"wa-id"`
	}
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	if q.WaID == "" {
		q.WaID = q.Alias
	}
	*p = ContactPhone{Phone: q.Phone, Type: q.Type, WaID: q.WaID}
	return nil
}

// ContactPhoneAlias is the seed's misspelt key for ContactPhone.WaID, accepted on decode.
const ContactPhoneAlias = "wa-id"

// ContactURL is one entry of a card's urls.
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// Interactive is the interactive object (onprem-api.md §8.7; cloud-api.md §2.3).
type Interactive struct {
	Type   string             `json:"type,omitempty"`
	Header *InteractiveHeader `json:"header,omitempty"`
	Body   *InteractiveText   `json:"body,omitempty"`
	Footer *InteractiveText   `json:"footer,omitempty"`
	Action *Action            `json:"action,omitempty"`
}

// InteractiveHeader is an interactive message's header: text, or one media object.
type InteractiveHeader struct {
	Type     string `json:"type,omitempty"`
	Text     string `json:"text,omitempty"`
	Image    *Media `json:"image,omitempty"`
	Video    *Media `json:"video,omitempty"`
	Document *Media `json:"document,omitempty"`
}

// InteractiveText is an interactive body or footer.
type InteractiveText struct {
	Text string `json:"text,omitempty"`
}

// Action is the action object of an interactive message. Which fields apply depends on
// interactive.type (onprem-api.md §8.7). The seed lists the Flow fields directly in the action
// object; Cloud nests them in action.parameters with action.name "flow" (cloud-api.md §2.3).
// Both shapes are accepted; validation stores the Cloud shape.
type Action struct {
	Button            string            `json:"button,omitempty"`
	Buttons           []ReplyButton     `json:"buttons,omitempty"`
	Sections          []Section         `json:"sections,omitempty"`
	CatalogID         string            `json:"catalog_id,omitempty"`
	ProductRetailerID string            `json:"product_retailer_id,omitempty"`
	Name              string            `json:"name,omitempty"`
	Parameters        *ActionParameters `json:"parameters,omitempty"`
	FlowFields
}

// FlowFields are the parameters of a Flow message (onprem-api.md §8.7 "flow action fields").
type FlowFields struct {
	FlowMessageVersion string             `json:"flow_message_version,omitempty"`
	FlowToken          string             `json:"flow_token,omitempty"`
	FlowID             string             `json:"flow_id,omitempty"`
	FlowName           string             `json:"flow_name,omitempty"` // Cloud: flow_id or flow_name
	FlowCTA            string             `json:"flow_cta,omitempty"`
	Mode               string             `json:"mode,omitempty"`
	FlowAction         string             `json:"flow_action,omitempty"`
	FlowActionPayload  *FlowActionPayload `json:"flow_action_payload,omitempty"`
}

// IsZero reports whether no Flow field is set.
func (f *FlowFields) IsZero() bool {
	return f.FlowMessageVersion == "" && f.FlowToken == "" && f.FlowID == "" && f.FlowName == "" &&
		f.FlowCTA == "" && f.Mode == "" && f.FlowAction == "" && f.FlowActionPayload == nil
}

// FlowActionPayload names the first screen of a Flow and its input data.
type FlowActionPayload struct {
	Screen string          `json:"screen,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// ActionParameters is action.parameters: Flow fields (Cloud shape), cta_url's display_text and
// url, catalog_message's thumbnail.
type ActionParameters struct {
	FlowFields
	DisplayText                string `json:"display_text,omitempty"`
	URL                        string `json:"url,omitempty"`
	ThumbnailProductRetailerID string `json:"thumbnail_product_retailer_id,omitempty"`
}

// ReplyButton is one reply button.
type ReplyButton struct {
	Type  string `json:"type,omitempty"`
	Reply *Reply `json:"reply,omitempty"`
}

// Reply is a reply button's id and title.
type Reply struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title,omitempty"`
}

// Section is a list or product-list section.
type Section struct {
	Title        string        `json:"title,omitempty"`
	Rows         []Row         `json:"rows,omitempty"`
	ProductItems []ProductItem `json:"product_items,omitempty"`
}

// Row is a list row.
type Row struct {
	ID          string `json:"id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// ProductItem is one product of a product-list section.
type ProductItem struct {
	ProductRetailerID string `json:"product_retailer_id,omitempty"`
}

// Template is the template object (onprem-api.md §14.1; cloud-api.md §2.3).
type Template struct {
	Namespace  string              `json:"namespace,omitempty"`
	Name       string              `json:"name,omitempty"`
	Language   *TemplateLanguage   `json:"language,omitempty"`
	Components []TemplateComponent `json:"components,omitempty"`
}

// TemplateLanguage is template.language.
type TemplateLanguage struct {
	Policy string `json:"policy,omitempty"`
	Code   string `json:"code,omitempty"`
}

// TemplateComponent is one entry of template.components.
type TemplateComponent struct {
	Type       string              `json:"type,omitempty"`
	SubType    string              `json:"sub_type,omitempty"`
	Index      *Index              `json:"index,omitempty"`
	Parameters []TemplateParameter `json:"parameters,omitempty"`
}

// Index is a template button's position. The seed sends an integer, other sources the string
// "0" (onprem-api.md §14.1, §19 item 5); both are accepted. It holds the value as written (the
// digits of a number, or the string's content) and is stored as a string, Cloud's form.
type Index string

// UnmarshalJSON accepts a JSON number or string.
func (i *Index) UnmarshalJSON(b []byte) error {
	v, ok, err := stringOrNumber(b, reflect.TypeFor[Index]())
	if ok {
		*i = Index(v)
	}
	return err
}

// TemplateParameter is one parameter of a template component.
type TemplateParameter struct {
	Type          string    `json:"type,omitempty"`
	ParameterName string    `json:"parameter_name,omitempty"` // Cloud named parameters
	Text          string    `json:"text,omitempty"`
	Payload       string    `json:"payload,omitempty"`
	CouponCode    string    `json:"coupon_code,omitempty"`
	Currency      *Currency `json:"currency,omitempty"`
	DateTime      *DateTime `json:"date_time,omitempty"`
	Image         *Media    `json:"image,omitempty"`
	Document      *Media    `json:"document,omitempty"`
	Video         *Media    `json:"video,omitempty"`
	Location      *Location `json:"location,omitempty"` // Cloud
	// Action is Cloud's flow / catalog button parameter, kept as sent.
	Action json.RawMessage `json:"action,omitempty"`
}

// Currency is a localisable currency parameter. Template messages use fallback_value, not the
// legacy hsm's default (onprem-api.md §14.1).
type Currency struct {
	FallbackValue string `json:"fallback_value,omitempty"`
	Code          string `json:"code,omitempty"`
	Amount1000    *int64 `json:"amount_1000,omitempty"`
}

// DateTime is a localisable date-time parameter: either components or a Unix timestamp, plus
// fallback_value (onprem-api.md §14.1).
type DateTime struct {
	FallbackValue string `json:"fallback_value,omitempty"`
	Timestamp     *int64 `json:"timestamp,omitempty"`
	DayOfWeek     *int   `json:"day_of_week,omitempty"`
	DayOfMonth    *int   `json:"day_of_month,omitempty"`
	Year          *int   `json:"year,omitempty"`
	Month         *int   `json:"month,omitempty"`
	Hour          *int   `json:"hour,omitempty"`
	Minute        *int   `json:"minute,omitempty"`
	Calendar      string `json:"calendar,omitempty"`
}

// Reaction is Cloud's reaction object (cloud-api.md §2.3). An empty emoji removes a reaction,
// so Emoji is a pointer: absent and "" differ.
type Reaction struct {
	MessageID string  `json:"message_id,omitempty"`
	Emoji     *string `json:"emoji,omitempty"`
}

// Context quotes an earlier message (Cloud only).
type Context struct {
	MessageID string `json:"message_id,omitempty"`
}

// TTL is On-Prem's deprecated ttl: an ISO-8601 duration or a number of seconds, as a string or
// a number (onprem-api.md §8.1). It holds the value as written.
type TTL string

// UnmarshalJSON accepts a JSON string or number.
func (t *TTL) UnmarshalJSON(b []byte) error {
	v, ok, err := stringOrNumber(b, reflect.TypeFor[TTL]())
	if ok {
		*t = TTL(v)
	}
	return err
}

// stringOrNumber reads a JSON string (its content) or number (its digits, as written) as text.
// null or nothing gives ok=false; any other JSON value is a type error naming typ.
func stringOrNumber(b []byte, typ reflect.Type) (string, bool, error) {
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", false, nil
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return string(b), true, nil
	}
	return "", false, &json.UnmarshalTypeError{Value: jsonKind(b), Type: typ}
}

// jsonKind names the kind of a JSON value the way encoding/json's type errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
