package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openwaba/waba/internal/media"
	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// The template registry of the WABA (issue 5 items 6–7). Definitions live in the store's
// settings under `templates.<name>.<language>` (JSON), the On-Prem namespace under
// `waba.namespace`: no table of their own. Template names are lowercase letters, digits and
// '_' and language codes letters and '_' (validate.go), so the dots of a key are unambiguous.

const (
	templateKeyPrefix = "templates."
	namespaceKey      = "waba.namespace"
	// templateCacheTTL bounds how long a definition read from the store is reused: a change made
	// by this node is seen at once (PutTemplate drops the entry), one made by another node of a
	// PostgreSQL cluster within this time.
	templateCacheTTL = 2 * time.Second
)

// Template categories and statuses (cloud-api.md §6).
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"

	StatusApproved = "APPROVED"
	StatusPending  = "PENDING"
	StatusRejected = "REJECTED"
	StatusPaused   = "PAUSED"
	StatusDisabled = "DISABLED"
)

// Template is one message template in one language.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"`
	Status   string `json:"status"`
	// ParameterFormat is how the variables are written (cloud-api.md §6): POSITIONAL, {{1}} …
	// {{n}} (also "", as templates stored before NAMED existed), or NAMED, {{order_id}}.
	ParameterFormat string             `json:"parameter_format,omitempty"`
	Components      TemplateComponents `json:"components"`
	// Reason is why a template was REJECTED (cloud-api.md §6: INVALID_FORMAT, …); NONE otherwise.
	Reason string `json:"reason,omitempty"`
	// CreatedAt is when it was created or last edited through the management API: the review
	// (templatelife.go) decides a PENDING template once the review delay has passed since then.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// TemplateComponents are a template's parts. Variables are positional, {{1}} … {{n}}, or, in a
// NAMED template, names: {{order_id}}.
type TemplateComponents struct {
	Header  *TemplateHeader  `json:"header,omitempty"`
	Body    string           `json:"body"`
	Footer  string           `json:"footer,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	// HeaderExamples and BodyExamples give an example value for every variable of a NAMED
	// template's header text and body: Graph's example.header_text_named_params and
	// example.body_text_named_params (cloud-api.md §6). A POSITIONAL template has none.
	HeaderExamples []NamedExample `json:"header_examples,omitempty"`
	BodyExamples   []NamedExample `json:"body_examples,omitempty"`
}

// NamedExample is one entry of body_text_named_params / header_text_named_params:
//
//	{"param_name": "order_id", "example": "335628"}
type NamedExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// TemplateHeader is the optional header: TEXT (with at most one variable) or a media format.
type TemplateHeader struct {
	Format string `json:"format"` // TEXT, IMAGE, VIDEO, DOCUMENT
	Text   string `json:"text,omitempty"`
}

// TemplateButton is one button; its index is its position in Buttons.
type TemplateButton struct {
	Type        string `json:"type"`                   // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE
	Text        string `json:"text"`                   // the label
	URL         string `json:"url,omitempty"`          // URL: may end in {{1}}, the suffix sent with the message
	PhoneNumber string `json:"phone_number,omitempty"` // PHONE_NUMBER
}

// Limits on definitions: cloud-api.md §6 (components: header text ≤ 60 with ≤ 1 variable,
// body ≤ 1024, footer ≤ 60, ≤ 10 buttons, URL ≤ 2000 with 1 variable, phone ≤ 20, label ≤ 25).
const (
	maxTemplateHeaderText = 60
	maxTemplateBody       = 1024
	maxTemplateFooter     = 60
	maxTemplateButtons    = 10
	maxTemplateButtonText = 25
	maxTemplateURL        = 2000
	maxTemplatePhone      = 20
	// Text parameter limits at send time, cloud-api.md §2.3: "header 60; body 1024 (32768 if the
	// body is the only component)". The same numbers bound the rendered text (2005).
	maxParamHeader   = 60
	maxParamBody     = 1024
	maxParamBodyOnly = 32768
)

var (
	templateCategories = []string{CategoryMarketing, CategoryUtility, CategoryAuthentication}
	templateStatuses   = []string{StatusApproved, StatusPending, StatusRejected, StatusPaused, StatusDisabled}
	headerFormats      = []string{"TEXT", "IMAGE", "VIDEO", "DOCUMENT"}
	buttonTypes        = []string{"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"}
	templateVar        = regexp.MustCompile(`\{\{\s*([0-9]+)\s*\}\}`)
	// anyVar is any {{…}}: a NAMED template's variables are checked against it, so that an
	// {{Order-ID}} is refused rather than kept as literal text.
	anyVar = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	// namedVar is a variable name: lowercase letters, digits and '_' (cloud-api.md §6, Meta's
	// `{{order_id}}`), not digits only, which is a positional variable.
	namedVar = regexp.MustCompile(`^[a-z0-9_]*[a-z_][a-z0-9_]*$`)
)

// Parameter formats of a template (cloud-api.md §6: "parameter_format":"named"|"positional",
// answered in upper case, §3b).
const (
	FormatPositional = "POSITIONAL"
	FormatNamed      = "NAMED"
)

// IsNamed reports whether t's variables are names.
func (t *Template) IsNamed() bool { return t.ParameterFormat == FormatNamed }

// HelloWorld is Meta's sample template every new WABA starts with (issue 5 item 6). The
// reference (shared/reference/*.md) names hello_world but does not print its text; the text is
// the one Meta's Cloud API test numbers come with.
func HelloWorld() Template {
	return Template{
		Name:     "hello_world",
		Language: "en_US",
		Category: CategoryUtility,
		Status:   StatusApproved,
		Components: TemplateComponents{
			Header: &TemplateHeader{Format: "TEXT", Text: "Hello World"},
			Body:   "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us.",
			Footer: "WhatsApp Business Platform sample message",
		},
	}
}

// templateState is the engine's cache of the namespace and of definitions.
type templateState struct {
	mu        sync.Mutex
	namespace string
	cache     map[string]cachedTemplate // key: templates.<name>.<language>
	// gen counts invalidations and writing the template writes under way. A lookup neither
	// uses nor fills the cache while a write is under way, and caches what it read only if no
	// write began or ended meanwhile: otherwise the old status could be served after the new
	// one is committed (a send seeing PENDING after the review's APPROVED was visible).
	gen     uint64
	writing int
}

// beginWrite is called before a template's stored definition changes, endWrite after.
func (ts *templateState) beginWrite(key string) {
	ts.mu.Lock()
	delete(ts.cache, key)
	ts.gen++
	ts.writing++
	ts.mu.Unlock()
}

func (ts *templateState) endWrite(key string) {
	ts.mu.Lock()
	delete(ts.cache, key)
	ts.gen++
	ts.writing--
	ts.mu.Unlock()
}

type cachedTemplate struct {
	t     *Template // nil: known not to exist
	until time.Time
}

func templateKey(name, lang string) string { return templateKeyPrefix + name + "." + lang }

// SeedTemplates gives the WABA its namespace and Meta's hello_world, unless they exist: a
// hello_world the sandbox paused stays paused across restarts.
func (e *Engine) SeedTemplates(ctx context.Context) error {
	if _, err := e.Namespace(ctx); err != nil {
		return err
	}
	h := HelloWorld()
	_, err := e.st.GetSetting(ctx, templateKey(h.Name, h.Language))
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("seed templates: %w", err)
	}
	return e.PutTemplate(ctx, h)
}

// Namespace is the WABA's On-Prem template namespace (onprem-api.md §14.1), made on first use:
// 32 random hex digits in the 8_4_4_4_12 shape of Meta's "cdb2df51_9816_c754_c5a4_64cdabdcad3e".
func (e *Engine) Namespace(ctx context.Context) (string, error) {
	ts := &e.templates
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.namespace != "" {
		return ts.namespace, nil
	}
	raw, err := e.st.GetSetting(ctx, namespaceKey)
	switch {
	case err == nil:
		var ns string
		if err := json.Unmarshal(raw, &ns); err != nil || ns == "" {
			return "", fmt.Errorf("setting %s: not a namespace: %q", namespaceKey, raw)
		}
		ts.namespace = ns
		return ns, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("read namespace: %w", err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("namespace: %w", err)
	}
	h := hex.EncodeToString(b[:])
	ns := h[0:8] + "_" + h[8:12] + "_" + h[12:16] + "_" + h[16:20] + "_" + h[20:32]
	v, _ := json.Marshal(ns)
	if err := e.st.PutSetting(ctx, namespaceKey, v); err != nil {
		return "", fmt.Errorf("store namespace: %w", err)
	}
	// Read it back: of two nodes starting on a fresh PostgreSQL database, the last writer wins
	// and both should use its value. (The store has no put-if-absent; a race in the moment
	// between this read and the other node's write remains.)
	if raw, err := e.st.GetSetting(ctx, namespaceKey); err == nil {
		var stored string
		if json.Unmarshal(raw, &stored) == nil && stored != "" {
			ns = stored
		}
	}
	ts.namespace = ns
	return ns, nil
}

// PutTemplate validates a definition and stores it, replacing one with the same name and
// language. An empty status is PENDING, as a template created through the Cloud API starts.
func (e *Engine) PutTemplate(ctx context.Context, t Template) error {
	return e.putTemplate(ctx, t, false)
}

// putTemplate stores t; imported relaxes the checks as ImportTemplate says.
func (e *Engine) putTemplate(ctx context.Context, t Template, imported bool) error {
	if t.Status == "" {
		t.Status = StatusPending
	}
	if err := checkTemplateDefinition(&t, imported); err != nil {
		return err
	}
	v, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode template: %w", err)
	}
	key := templateKey(t.Name, t.Language)
	e.templates.beginWrite(key)
	defer e.templates.endWrite(key)
	if err := e.st.PutSetting(ctx, key, v); err != nil {
		return fmt.Errorf("store template: %w", err)
	}
	return nil
}

// GetTemplate returns one definition, or a store.ErrNotFound error.
func (e *Engine) GetTemplate(ctx context.Context, name, lang string) (Template, error) {
	t, err := e.lookupTemplate(ctx, name, lang)
	if err != nil {
		return Template{}, err
	}
	if t == nil {
		return Template{}, fmt.Errorf("template %s/%s: %w", name, lang, store.ErrNotFound)
	}
	return *t, nil
}

// Templates lists every definition, by name and language.
func (e *Engine) Templates(ctx context.Context) ([]Template, error) {
	all, err := e.st.ListSettings(ctx, templateKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	out := make([]Template, 0, len(all))
	for k, v := range all {
		var t Template
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("setting %s: %w", k, err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Language < out[j].Language
	})
	return out, nil
}

// lookupTemplate reads a definition through the cache; nil means there is none.
func (e *Engine) lookupTemplate(ctx context.Context, name, lang string) (*Template, error) {
	key := templateKey(name, lang)
	now := time.Now()
	ts := &e.templates
	ts.mu.Lock()
	if c, ok := ts.cache[key]; ok && ts.writing == 0 && now.Before(c.until) {
		ts.mu.Unlock()
		return c.t, nil
	}
	gen := ts.gen
	ts.mu.Unlock()
	var t *Template
	raw, err := e.st.GetSetting(ctx, key)
	switch {
	case err == nil:
		t = new(Template)
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("setting %s: %w", key, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("read template: %w", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.gen != gen || ts.writing > 0 {
		return t, nil // a write began or ended meanwhile: t may be stale, so do not cache it
	}
	if ts.cache == nil {
		ts.cache = map[string]cachedTemplate{}
	}
	if len(ts.cache) > 10000 {
		clear(ts.cache) // unknown names are cached too; do not let a client grow the map
	}
	ts.cache[key] = cachedTemplate{t: t, until: now.Add(templateCacheTTL)}
	return t, nil
}

// templateVars returns the variable numbers of s in order of appearance.
func templateVars(s string) []int {
	var out []int
	for _, m := range templateVar.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// checkVars: the variables of a POSITIONAL text are {{1}} … {{n}}, each once, none missing; a
// named variable ({{order_id}}) in one is a mix of the two formats (cloud-api.md §6).
func checkVars(field, s string, max int) *waerr.Error {
	for _, m := range anyVar.FindAllStringSubmatch(s, -1) {
		if namedVar.MatchString(m[1]) {
			return waerr.New(waerr.InvalidParam, "Template '%s' mixes positional and named variables: {{%s}} is a named variable but the template's parameter_format is POSITIONAL; use {{1}} to {{n}}, or create the template with parameter_format NAMED", field, m[1])
		}
	}
	vars := templateVars(s)
	if len(vars) > max {
		return waerr.New(waerr.InvalidParam, "Template '%s' has %d variables; the maximum is %d", field, len(vars), max)
	}
	seen := make(map[int]bool, len(vars))
	for _, n := range vars {
		if n < 1 || n > len(vars) || seen[n] {
			return waerr.New(waerr.InvalidParam, "Template '%s' has invalid variables: use {{1}} to {{%d}}, each once", field, len(vars))
		}
		seen[n] = true
	}
	return nil
}

// namedVars returns the variable names of a NAMED text in order of appearance.
func namedVars(s string) []string {
	var out []string
	for _, m := range anyVar.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkNamedVars: the variables of a NAMED text are names of lowercase letters, digits and '_'
// (cloud-api.md §6), each once; a positional {{1}} among them is a mix of the two formats; and
// examples (exField: example.body_text_named_params or …header…) give each variable exactly
// one non-empty example and name no other.
func checkNamedVars(field, s string, max int, examples []NamedExample, exField string) *waerr.Error {
	names := namedVars(s)
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n != "" && strings.Trim(n, "0123456789") == "":
			return waerr.New(waerr.InvalidParam, "Template '%s' mixes positional and named variables: {{%s}} is positional but the template's parameter_format is NAMED; name every variable, e.g. {{order_id}}", field, n)
		case !namedVar.MatchString(n):
			return waerr.New(waerr.InvalidParam, "Template '%s' has the invalid variable {{%s}}; variable names are lowercase letters, digits and '_', e.g. {{order_id}}", field, clipValue(n))
		case seen[n]:
			return waerr.New(waerr.InvalidParam, "Template '%s' has the variable {{%s}} more than once; each name may appear once", field, n)
		}
		seen[n] = true
	}
	if len(names) > max {
		return waerr.New(waerr.InvalidParam, "Template '%s' has %d variables; the maximum is %d", field, len(names), max)
	}
	given := make(map[string]bool, len(examples))
	for i, x := range examples {
		switch {
		case !seen[x.ParamName]:
			return waerr.New(waerr.InvalidParam, "Template '%s[%d].param_name' has the value '%s', which is not a variable of '%s'; its variables are: %s", exField, i, clipValue(x.ParamName), field, orNoneList(names))
		case given[x.ParamName]:
			return waerr.New(waerr.InvalidParam, "Template '%s[%d].param_name' has the value '%s' already given; give each variable one example", exField, i, x.ParamName)
		case strings.TrimSpace(x.Example) == "":
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s[%d].example': the example value of {{%s}}", exField, i, x.ParamName)
		}
		given[x.ParamName] = true
	}
	for _, n := range names {
		if !given[n] {
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s': variable {{%s}} of '%s' needs an example, {\"param_name\":\"%s\",\"example\":\"…\"}", exField, n, field, n)
		}
	}
	return nil
}

func orNoneList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// checkTemplateDefinition validates a definition (cloud-api.md §6 component rules). Its errors
// are 1009 with details naming the field: the Cloud management codes (2388xxx) belong to the
// Cloud dialect's management routes, which come later. imported (ImportTemplate) skips the
// format check of PHONE_NUMBER buttons, which a send then reports as 2011.
func checkTemplateDefinition(t *Template, imported bool) *waerr.Error {
	if !isTemplateName(t.Name) || charCount(t.Name) > maxTemplateName {
		return waerr.New(waerr.InvalidParam, "Template 'name' has invalid value '%s'; use up to %d lowercase letters, digits and '_'", clipValue(t.Name), maxTemplateName)
	}
	if !isLanguageCode(t.Language) {
		return waerr.New(waerr.InvalidParam, "Template 'language' has invalid value '%s'; use a language code such as 'en' or 'en_US'", clipValue(t.Language))
	}
	if !inSet(t.Category, templateCategories) {
		return waerr.New(waerr.InvalidParam, "Template 'category' has invalid value '%s'; use one of: %s", clipValue(t.Category), strings.Join(templateCategories, ", "))
	}
	if !inSet(t.Status, templateStatuses) {
		return waerr.New(waerr.InvalidParam, "Template 'status' has invalid value '%s'; use one of: %s", clipValue(t.Status), strings.Join(templateStatuses, ", "))
	}
	switch t.ParameterFormat {
	case "", FormatPositional, FormatNamed:
	default:
		return waerr.New(waerr.InvalidParam, "Template 'parameter_format' has invalid value '%s'; use %s or %s", clipValue(t.ParameterFormat), FormatPositional, FormatNamed)
	}
	c := &t.Components
	if !t.IsNamed() && (len(c.HeaderExamples) > 0 || len(c.BodyExamples) > 0) {
		return waerr.New(waerr.InvalidParam, "Template 'components' mixes positional and named parameters: named examples (param_name) belong to a template whose parameter_format is NAMED")
	}
	vars := func(field, text string, max int, examples []NamedExample, exField string) *waerr.Error {
		if t.IsNamed() {
			return checkNamedVars(field, text, max, examples, exField)
		}
		return checkVars(field, text, max)
	}
	if len(c.HeaderExamples) > 0 && (c.Header == nil || c.Header.Format != "TEXT") {
		return waerr.New(waerr.UnexpectedParam, "Parameter 'components.header.example.header_text_named_params' is not required: the template has no TEXT header")
	}
	if h := c.Header; h != nil {
		if !inSet(h.Format, headerFormats) {
			return waerr.New(waerr.InvalidParam, "Template 'components.header.format' has invalid value '%s'; use one of: %s", clipValue(h.Format), strings.Join(headerFormats, ", "))
		}
		if h.Format == "TEXT" {
			if h.Text == "" {
				return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'components.header.text' for a TEXT header")
			}
			if n := charCount(h.Text); n > maxTemplateHeaderText {
				return errTooLong(waerr.InvalidParam, "components.header.text", n, maxTemplateHeaderText)
			}
			if e := vars("components.header.text", h.Text, 1, c.HeaderExamples, "components.header.example.header_text_named_params"); e != nil {
				return e
			}
		} else if h.Text != "" {
			return waerr.New(waerr.UnexpectedParam, "Parameter 'components.header.text' is not required for a %s header", h.Format)
		}
	}
	if c.Body == "" {
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'components.body'")
	}
	if n := charCount(c.Body); n > maxTemplateBody {
		return errTooLong(waerr.InvalidParam, "components.body", n, maxTemplateBody)
	}
	if e := vars("components.body", c.Body, maxTemplateBody, c.BodyExamples, "components.body.example.body_text_named_params"); e != nil {
		return e
	}
	if n := charCount(c.Footer); n > maxTemplateFooter {
		return errTooLong(waerr.InvalidParam, "components.footer", n, maxTemplateFooter)
	}
	if len(templateVars(c.Footer)) > 0 || (t.IsNamed() && anyVar.MatchString(c.Footer)) {
		return waerr.New(waerr.InvalidParam, "Template 'components.footer' has variables; a footer is fixed text")
	}
	if len(c.Buttons) > maxTemplateButtons {
		return waerr.New(waerr.InvalidParam, "Template 'components.buttons' has %d buttons; the maximum is %d", len(c.Buttons), maxTemplateButtons)
	}
	for i, b := range c.Buttons {
		p := fmt.Sprintf("components.buttons[%d]", i)
		if !inSet(b.Type, buttonTypes) {
			return waerr.New(waerr.InvalidParam, "Template '%s.type' has invalid value '%s'; use one of: %s", p, clipValue(b.Type), strings.Join(buttonTypes, ", "))
		}
		if b.Text == "" {
			return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s.text'", p)
		}
		if n := charCount(b.Text); n > maxTemplateButtonText {
			return errTooLong(waerr.InvalidParam, p+".text", n, maxTemplateButtonText)
		}
		if b.Type != "URL" && b.URL != "" {
			return waerr.New(waerr.UnexpectedParam, "Parameter '%s.url' is not required for a %s button", p, b.Type)
		}
		if b.Type != "PHONE_NUMBER" && b.PhoneNumber != "" {
			return waerr.New(waerr.UnexpectedParam, "Parameter '%s.phone_number' is not required for a %s button", p, b.Type)
		}
		switch b.Type {
		case "URL":
			if b.URL == "" {
				return waerr.New(waerr.MissingParam, "Missing mandatory parameter '%s.url'", p)
			}
			if n := charCount(b.URL); n > maxTemplateURL {
				return errTooLong(waerr.InvalidParam, p+".url", n, maxTemplateURL)
			}
			base, dynamic := strings.CutSuffix(b.URL, "{{1}}")
			if len(templateVars(base)) > 0 || !isHTTPURL(base) || (!dynamic && !validHydratedURL(base)) {
				return waerr.New(waerr.InvalidParam, "Template '%s.url' has invalid value '%s'; use an http(s) URL, optionally ending in the variable {{1}}", p, clipValue(b.URL))
			}
		case "PHONE_NUMBER":
			if imported && b.PhoneNumber != "" && charCount(b.PhoneNumber) <= maxTemplatePhone {
				break // a send reports a malformed number: 2011 (ImportTemplate)
			}
			if !validTemplatePhone(b.PhoneNumber) {
				return waerr.New(waerr.InvalidParam, "Template '%s.phone_number' has invalid value '%s'; use a phone number in international format, up to %d characters", p, clipValue(b.PhoneNumber), maxTemplatePhone)
			}
		}
	}
	return nil
}

// validTemplatePhone: a PHONE_NUMBER button's number, in international format, ≤ 20 characters
// (cloud-api.md §6).
func validTemplatePhone(s string) bool {
	_, ok := wa.NormalizePhone(s)
	return ok && charCount(s) <= maxTemplatePhone
}

// validHydratedURL: an absolute http(s) URL with a host and no spaces.
func validHydratedURL(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RenderedTemplate is the text a template message shows, stored with the message as
// `waba_rendered` (the UI shows it).
type RenderedTemplate struct {
	Text    string           `json:"text"` // header, body and footer, one per line
	Header  string           `json:"header,omitempty"`
	Format  string           `json:"header_format,omitempty"`
	Body    string           `json:"body"`
	Footer  string           `json:"footer,omitempty"`
	Buttons []RenderedButton `json:"buttons,omitempty"`
}

// RenderedButton is one button as shown.
type RenderedButton struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	Payload     string `json:"payload,omitempty"`
	CouponCode  string `json:"coupon_code,omitempty"`
}

// checkTemplateSend looks the template of a validated message up and checks the send against
// its definition (onprem-api.md §14.3, errors.md §2.7). It returns the rendered text and the
// template's category.
func (e *Engine) checkTemplateSend(ctx context.Context, m *wa.Template, d wa.Dialect) (*RenderedTemplate, string, error) {
	// Namespace: optional from v2.41; present and not ours → 1009 (onprem-api.md §14.1,
	// errors.md §2.7, details as given there). Cloud ignores it (validate.go).
	if d == wa.OnPrem && m.Namespace != "" {
		ns, err := e.Namespace(ctx)
		if err != nil {
			return nil, "", waerr.New(waerr.DatabaseError, "The template namespace could not be read")
		}
		if m.Namespace != ns {
			return nil, "", waerr.New(waerr.TemplateNamespaceMismatch, "The namespace does not correspond to the WABA id")
		}
	}
	lang := m.Language.Code
	t, err := e.lookupTemplate(ctx, m.Name, lang)
	if err != nil {
		return nil, "", waerr.New(waerr.DatabaseError, "The template could not be read")
	}
	if t == nil {
		// errors.md §2.7: 2001 "wrong name" vs 2003 "no translation for the language/locale":
		// a name known in other languages only is 2003.
		others, err := e.st.ListSettings(ctx, templateKeyPrefix+m.Name+".")
		if err != nil {
			return nil, "", waerr.New(waerr.DatabaseError, "The template could not be read")
		}
		if len(others) > 0 {
			langs := make([]string, 0, len(others))
			for k := range others {
				langs = append(langs, strings.TrimPrefix(k, templateKeyPrefix+m.Name+"."))
			}
			sort.Strings(langs)
			return nil, "", waerr.New(waerr.TemplatePackMissing, "Template 'template.name' '%s' has no translation for 'template.language.code' '%s'; it exists in: %s", m.Name, lang, strings.Join(langs, ", "))
		}
		return nil, "", waerr.New(waerr.TemplateMissing, "Template 'template.name' '%s' does not exist in language '%s'", m.Name, lang)
	}
	switch t.Status {
	case StatusApproved:
	case StatusRejected:
		return nil, "", waerr.New(waerr.TemplateRejected, "Template 'template.name' '%s' (%s) was rejected", m.Name, lang)
	case StatusPaused:
		return nil, "", waerr.New(waerr.TemplatePaused, "Template 'template.name' '%s' (%s) is paused", m.Name, lang)
	case StatusDisabled:
		return nil, "", waerr.New(waerr.TemplateDisabled, "Template 'template.name' '%s' (%s) is disabled", m.Name, lang)
	default: // PENDING: errors.md §2.7, 2001 covers "not active"
		return nil, "", waerr.New(waerr.TemplateMissing, "Template 'template.name' '%s' (%s) is not active: its status is %s", m.Name, lang, t.Status)
	}
	r, werr := renderTemplate(t, m, d)
	if werr != nil {
		return nil, "", werr
	}
	if err := e.checkHeaderMedia(ctx, t, m); err != nil {
		return nil, "", err
	}
	return r, t.Category, nil
}

// checkHeaderMedia refuses a media header whose uploaded file (sent by id) is of a type the
// header's kind does not take: 2008 "Template Media Format Unsupported" (errors.md §2.6; Cloud
// 131053 closest), e.g. a GIF or a PDF for an IMAGE header. Media sent by link are checked when
// fetched; an id that names no stored media is left to the network, as before.
func (e *Engine) checkHeaderMedia(ctx context.Context, t *Template, m *wa.Template) error {
	h := t.Components.Header
	if h == nil || h.Format == "TEXT" {
		return nil
	}
	for i, c := range m.Components {
		if !strings.EqualFold(c.Type, "header") || len(c.Parameters) != 1 {
			continue
		}
		p := c.Parameters[0]
		obj := map[string]*wa.Media{"IMAGE": p.Image, "VIDEO": p.Video, "DOCUMENT": p.Document}[h.Format]
		if obj == nil || obj.ID == "" {
			return nil
		}
		id := obj.ID
		if uuid, ok := media.ParseGraphID(id); ok { // a Cloud media id
			id = uuid
		}
		if !store.ValidMediaID(id) {
			return nil
		}
		stored, rc, err := e.st.OpenMedia(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return waerr.New(waerr.DatabaseError, "The header media could not be read")
		}
		rc.Close()
		rule, _ := media.RuleFor(media.Kind(strings.ToLower(h.Format)))
		base, _, _ := mime.ParseMediaType(stored.MimeType)
		if !slices.Contains(rule.Types, base) {
			return waerr.New(waerr.TemplateMediaFormat, "Parameter 'template.components[%d].parameters[0].%s.id' names a %s file; the %s header of template '%s' takes %s",
				i, strings.ToLower(h.Format), stored.MimeType, h.Format, t.Name, strings.Join(rule.Types, ", "))
		}
		return nil
	}
	return nil
}

// renderTemplate checks the parameters of m, sent in dialect d, against t and renders the text.
func renderTemplate(t *Template, m *wa.Template, d wa.Dialect) (*RenderedTemplate, *waerr.Error) {
	var header, body *wa.TemplateComponent
	headerAt, bodyAt := "", ""
	buttons := map[int]*wa.TemplateComponent{}
	buttonAt := map[int]string{}
	for i := range m.Components {
		c := &m.Components[i]
		cp := fmt.Sprintf("template.components[%d]", i)
		switch strings.ToLower(c.Type) {
		case "header":
			header, headerAt = c, cp
		case "body":
			body, bodyAt = c, cp
		case "button":
			idx, _ := strconv.Atoi(string(*c.Index)) // Validate checked it
			buttons[idx], buttonAt[idx] = c, cp
		}
	}
	tc := &t.Components
	bodyOnly := tc.Header == nil && tc.Footer == "" && len(tc.Buttons) == 0
	r := &RenderedTemplate{}

	// Header.
	if h := tc.Header; h != nil && h.Format != "TEXT" {
		want := strings.ToLower(h.Format)
		if header == nil || len(header.Parameters) == 0 {
			return nil, waerr.New(waerr.TemplateRequiredComponentMissing, "Template '%s' has a %s header: 'template.components' needs a header component with one '%s' parameter", t.Name, h.Format, want)
		}
		if n := len(header.Parameters); n != 1 {
			return nil, waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters' has %d parameters; template '%s' expects 1 in its header", headerAt, n, t.Name)
		}
		if got := header.Parameters[0].Type; got != want {
			return nil, waerr.New(waerr.TemplateParamFormatMismatch, "Parameter '%s.parameters[0].type' has the value '%s'; template '%s' has a %s header and expects '%s'", headerAt, got, t.Name, h.Format, want)
		}
		r.Format = h.Format
	} else {
		text := ""
		if h != nil {
			text = h.Text
			r.Format = "TEXT"
		}
		htext, err := hydrate(t, "header", text, header, headerAt, maxParamHeader, d)
		if err != nil {
			return nil, err
		}
		r.Header = htext
	}

	// Body.
	limit := maxParamBody
	if bodyOnly {
		limit = maxParamBodyOnly
	}
	btext, err := hydrate(t, "body", tc.Body, body, bodyAt, limit, d)
	if err != nil {
		return nil, err
	}
	r.Body = btext
	r.Footer = tc.Footer

	// Buttons, in index order so the first problem reported is stable.
	idxs := make([]int, 0, len(buttons))
	for idx := range buttons {
		idxs = append(idxs, idx)
	}
	sort.Ints(idxs)
	for _, idx := range idxs {
		c := buttons[idx]
		if idx >= len(tc.Buttons) {
			return nil, waerr.New(waerr.InvalidParam, "Parameter '%s.index' has invalid value '%d'; template '%s' has %d buttons", buttonAt[idx], idx, t.Name, len(tc.Buttons))
		}
		tb := tc.Buttons[idx]
		want := map[string]string{"QUICK_REPLY": "quick_reply", "URL": "url", "COPY_CODE": "copy_code"}[tb.Type]
		if st := strings.ToLower(c.SubType); st != want {
			if want == "" {
				return nil, waerr.New(waerr.InvalidParam, "Parameter '%s.sub_type' has invalid value '%s'; button %d of template '%s' is a %s button and takes no parameters", buttonAt[idx], st, idx, t.Name, tb.Type)
			}
			return nil, waerr.New(waerr.InvalidParam, "Parameter '%s.sub_type' has invalid value '%s'; button %d of template '%s' is a %s button", buttonAt[idx], st, idx, t.Name, want)
		}
		if tb.Type == "URL" && !strings.HasSuffix(tb.URL, "{{1}}") {
			return nil, waerr.New(waerr.InvalidParam, "Parameter '%s.parameters' is not required: the URL of button %d of template '%s' has no variable", buttonAt[idx], idx, t.Name)
		}
		if len(c.Parameters) != 1 {
			return nil, waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters' has %d parameters; button %d of template '%s' expects 1", buttonAt[idx], len(c.Parameters), idx, t.Name)
		}
	}
	for idx, tb := range tc.Buttons {
		rb := RenderedButton{Type: tb.Type, Text: tb.Text, URL: tb.URL, PhoneNumber: tb.PhoneNumber}
		c := buttons[idx]
		var q *wa.TemplateParameter
		if c != nil {
			q = &c.Parameters[0]
		}
		switch tb.Type {
		case "URL":
			base, dynamic := strings.CutSuffix(tb.URL, "{{1}}")
			if !dynamic {
				break
			}
			// errors.md §2.7: 2009 "Header, body or button parameters missing".
			if q == nil {
				return nil, waerr.New(waerr.TemplateRequiredComponentMissing, "Template '%s' button %d has a dynamic URL: 'template.components' needs a button component with sub_type 'url', index %d and a 'text' parameter (the URL suffix)", t.Name, idx, idx)
			}
			rb.URL = base + q.Text
			if n := charCount(rb.URL); n > maxTemplateURL {
				return nil, waerr.New(waerr.TemplateParamTooLong, "Parameter '%s.parameters[0].text' makes the URL of button %d %d characters long; the maximum is %d", buttonAt[idx], idx, n, maxTemplateURL)
			}
			if !validHydratedURL(rb.URL) {
				return nil, waerr.New(waerr.TemplateInvalidURL, "Parameter '%s.parameters[0].text' makes the URL of button %d invalid: '%s'", buttonAt[idx], idx, clipValue(rb.URL))
			}
		case "COPY_CODE":
			if q == nil {
				return nil, waerr.New(waerr.TemplateRequiredComponentMissing, "Template '%s' button %d is a COPY_CODE button: 'template.components' needs a button component with sub_type 'copy_code', index %d and a 'coupon_code' parameter", t.Name, idx, idx)
			}
			if n := charCount(q.CouponCode); n > 15 { // cloud-api.md §6: COPY_CODE example ≤ 15
				return nil, waerr.New(waerr.TemplateParamTooLong, "Parameter '%s.parameters[0].coupon_code' is too long: %d characters, the maximum is 15", buttonAt[idx], n)
			}
			rb.CouponCode = q.CouponCode
		case "QUICK_REPLY":
			if q != nil {
				rb.Payload = q.Payload
			}
		case "PHONE_NUMBER":
			// errors.md §2.7: 2011 "Template Invalid Phone Number". A phone button takes no
			// parameter at send time, so the number checked is the definition's: one that reached
			// the registry without Graph's checks (ImportTemplate) and is not a phone number in
			// international format. Cloud has no such code; its envelope answers 131009
			// "Parameter value is not valid" (the closest: the template holds an invalid value).
			if !validTemplatePhone(tb.PhoneNumber) {
				return nil, waerr.New(waerr.TemplateInvalidPhone, "Template '%s' button %d ('%s') has the phone number '%s', which is not a phone number in international format (up to %d characters); fix the template", t.Name, idx, tb.Text, clipValue(tb.PhoneNumber), maxTemplatePhone)
			}
		}
		r.Buttons = append(r.Buttons, rb)
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{r.Header, r.Body, r.Footer} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	r.Text = strings.Join(parts, "\n")
	return r, nil
}

// hydrate replaces the variables of text with the parameters of c (nil: none sent) and checks
// the count (2000, or 2009 when the component is absent), each value's length (2004) and the
// result's (2005).
//
// In a NAMED template (cloud-api.md §2.3 "Named parameters"), a Cloud send names each value's
// variable with `parameter_name`. A parameter without one, with a name that is not a variable of
// the component, or with a name already given is 132000 / 2000 "Template Param Count Mismatch":
// errors.md §2.7 gives no code of its own for names, and 132000 is the one for values that do
// not match the variables one to one, which is what each of these leaves (a variable without
// its value). The On-Premises API has no `parameter_name` (onprem-api.md §14.1; validate.go
// refuses it with 1010), so a /v1 send fills a NAMED template's variables in the order they
// appear in the definition, as it fills {{1}} … {{n}}.
func hydrate(t *Template, part, text string, c *wa.TemplateComponent, at string, limit int, d wa.Dialect) (string, *waerr.Error) {
	name := t.Name
	var names []string
	want := len(templateVars(text))
	if t.IsNamed() {
		names = namedVars(text)
		want = len(names)
	}
	if c == nil {
		if want > 0 {
			return "", waerr.New(waerr.TemplateRequiredComponentMissing, "Template '%s' has %d variables in its %s: 'template.components' needs a %s component with %d parameters", name, want, part, part, want)
		}
		return text, nil
	}
	if got := len(c.Parameters); got != want {
		return "", waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters' has %d parameters; template '%s' expects %d in its %s", at, got, name, want, part)
	}
	values := make([]string, want)
	byName := make(map[string]string, len(names))
	givenAt := make(map[string]int, len(names))
	for i := range c.Parameters {
		q := &c.Parameters[i]
		var v, field string
		switch q.Type {
		case "text":
			v, field = q.Text, "text"
		case "currency":
			v, field = q.Currency.FallbackValue, "currency.fallback_value"
		case "date_time":
			v, field = q.DateTime.FallbackValue, "date_time.fallback_value"
		default:
			variable := fmt.Sprintf("variable {{%d}}", i+1)
			if t.IsNamed() {
				variable = "each variable"
			}
			return "", waerr.New(waerr.TemplateParamFormatMismatch, "Parameter '%s.parameters[%d].type' has the value '%s'; %s of the %s of template '%s' takes text, currency or date_time", at, i, q.Type, variable, part, name)
		}
		if n := charCount(v); n > limit {
			return "", waerr.New(waerr.TemplateParamTooLong, "Parameter '%s.parameters[%d].%s' is too long: %d characters, the maximum is %d", at, i, field, n, limit)
		}
		switch {
		case t.IsNamed() && d == wa.Cloud:
			pn := q.ParameterName
			switch {
			case pn == "":
				return "", waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters[%d].parameter_name' is missing; template '%s' has named parameters: give each value the name of its variable (%s)", at, i, name, strings.Join(names, ", "))
			case !slices.Contains(names, pn):
				return "", waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters[%d].parameter_name' has the value '%s', which is not a variable of the %s of template '%s'; its variables are: %s", at, i, clipValue(pn), part, name, strings.Join(names, ", "))
			}
			if j, dup := givenAt[pn]; dup {
				return "", waerr.New(waerr.TemplateParamCountMismatch, "Parameter '%s.parameters[%d].parameter_name' has the value '%s' already used at '%s.parameters[%d]'; each variable takes one value", at, i, pn, at, j)
			}
			givenAt[pn] = i
			byName[pn] = v
		case t.IsNamed():
			byName[names[i]] = v
		case q.ParameterName != "":
			// A name for a POSITIONAL template's value: the template has no variable of that
			// name, so the value is not valid for it (1009 / 131009).
			return "", waerr.New(waerr.InvalidParam, "Parameter '%s.parameters[%d].parameter_name' is not valid here: template '%s' has positional parameters ({{1}} … {{n}}); send the values in order without parameter_name", at, i, name)
		default:
			values[i] = v
		}
	}
	var out string
	if t.IsNamed() {
		out = anyVar.ReplaceAllStringFunc(text, func(s string) string {
			if v, ok := byName[anyVar.FindStringSubmatch(s)[1]]; ok {
				return v
			}
			return s
		})
	} else {
		out = templateVar.ReplaceAllStringFunc(text, func(s string) string {
			n, _ := strconv.Atoi(templateVar.FindStringSubmatch(s)[1])
			if n < 1 || n > len(values) {
				return s // a stored definition PutTemplate did not check
			}
			return values[n-1]
		})
	}
	if n := charCount(out); n > limit {
		return "", waerr.New(waerr.TemplateHydratedTooLong, "The %s of template '%s' is %d characters long once its parameters are filled in; the maximum is %d", part, name, n, limit)
	}
	return out, nil
}

// withTemplateRender adds the waba-only keys to an encoded message: the rendered text and the
// template's category (the network sets the conversation category from it).
func withTemplateRender(payload []byte, r *RenderedTemplate, category string) ([]byte, error) {
	extra, err := json.Marshal(struct {
		Rendered *RenderedTemplate `json:"waba_rendered"`
		Category string            `json:"waba_category"`
	}{r, category})
	if err != nil {
		return nil, err
	}
	if len(payload) < 2 || payload[len(payload)-1] != '}' || extra[0] != '{' {
		return nil, fmt.Errorf("encoded message is not an object")
	}
	out := make([]byte, 0, len(payload)+len(extra))
	out = append(out, payload[:len(payload)-1]...)
	if len(payload) > 2 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...), nil
}
