package onprem

// Decoding of `POST /v1/messages` bodies (shared/reference/onprem-api.md §8).
//
// One generic path: encoding/json decodes the body into a wa.Message in one pass, then a
// schema-driven scan of the same bytes (no values are built) finds the keys the wire format does
// not have. The scan exists because encoding/json matches member names case-insensitively while
// Meta's servers do not: the seed's own sample sends "Header" for "header" (onprem-api.md §8.7),
// which Go would silently accept. Unknown keys are not an error here; they are recorded in
// Message.UnknownParams and engine.Validate answers them with 1010 at the WebApp's point in the
// order (after `to`, `type` and `recipient_type`).
//
// Errors, as *waerr.Error:
//   - empty body, malformed JSON, or a JSON value that is not an object → 1025 Invalid Request,
//     with the parser's message and the byte offset, line and column;
//   - a member of the wrong JSON type ("to": 5) → 1009, naming the member by its path
//     (`interactive.action.sections[1].rows[0].title`).

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openwaba/waba/internal/wa"
	"github.com/openwaba/waba/internal/waerr"
)

// DecodeMessage decodes a `POST /v1/messages` body. It does not validate the message: call
// engine.Validate(m, wa.OnPrem) next.
func DecodeMessage(body []byte) (*wa.Message, error) {
	start := skipJSONSpace(body, 0)
	if start == len(body) {
		return nil, waerr.New(waerr.InvalidRequest, "Request body is empty; send a JSON object")
	}
	m := new(wa.Message)
	err := json.Unmarshal(body, m)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the offending one included: it is the 1-based position
		// of that byte, like the line and column.
		if int(se.Offset) >= len(body) && strings.HasPrefix(se.Error(), "unexpected end") {
			return nil, waerr.New(waerr.InvalidRequest, "Request body is not valid JSON: %s (after byte %d, at the end of the body)", se.Error(), len(body))
		}
		line, col := jsonLineCol(body, int(se.Offset)-1)
		return nil, waerr.New(waerr.InvalidRequest, "Request body is not valid JSON: %s (at byte %d, line %d, column %d)", se.Error(), se.Offset, line, col)
	}
	if body[start] != '{' {
		return nil, waerr.New(waerr.InvalidRequest, "Request body must be a JSON object, not %s", withArticle(jsonKindName(body[start])))
	}
	if err != nil && !isJSONTypeError(err) {
		// encoding/json reports only syntax and type errors; anything else is unexpected.
		return nil, waerr.New(waerr.InvalidRequest, "Request body could not be decoded: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	s := msgScanner{b: body, i: start}
	s.value(msgWireSchema)
	if err != nil {
		if s.mismatch != "" {
			return nil, waerr.New(waerr.InvalidParam, "%s", s.mismatch)
		}
		if len(s.unknown) > 0 {
			// encoding/json matched an unknown key case-insensitively ("TEXT": 5) and choked on
			// its value. The real fault is the key: Validate answers it with 1010. The message
			// cannot be accepted, so what encoding/json put in it does not matter.
			m.UnknownParams = s.unknown
			return m, nil
		}
		// The scan and encoding/json disagree; fall back on encoding/json's (index-less) path.
		var te *json.UnmarshalTypeError
		errors.As(err, &te)
		return nil, waerr.New(waerr.InvalidParam, "Parameter '%s' has a value of the wrong type (%s)", te.Field, te.Value)
	}
	m.UnknownParams = s.unknown
	return m, nil
}

func isJSONTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// ---- schema ----

// msgKind is a set of JSON value kinds.
type msgKind uint8

const (
	jkString msgKind = 1 << iota
	jkNumber
	jkBool
	jkObject
	jkArray
	jkAny = jkString | jkNumber | jkBool | jkObject | jkArray
)

// msgSchema describes what the wire format accepts at one place in the document.
type msgSchema struct {
	kinds   msgKind
	integer bool                  // numbers must be integers
	numeric bool                  // strings must hold a decimal number (wa.Coordinate)
	fields  map[string]*msgSchema // object members by exact name; nil: any member (opaque)
	lower   map[string]string     // lower-case name → exact name, for suggestions
	elem    *msgSchema            // array elements
}

var msgWireSchema = buildMsgSchema(reflect.TypeFor[wa.Message](), map[reflect.Type]*msgSchema{})

// Types whose JSON form is not the one reflection would infer: they have their own
// UnmarshalJSON.
var (
	msgTypeCoordinate = reflect.TypeFor[wa.Coordinate]()
	msgTypeIndex      = reflect.TypeFor[wa.Index]()
	msgTypeTTL        = reflect.TypeFor[wa.TTL]()
	msgTypeProvider   = reflect.TypeFor[wa.Provider]()
	msgTypePhone      = reflect.TypeFor[wa.ContactPhone]()
	msgTypeRaw        = reflect.TypeFor[json.RawMessage]()
)

func buildMsgSchema(t reflect.Type, memo map[reflect.Type]*msgSchema) *msgSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := memo[t]; ok {
		return s
	}
	switch t {
	case msgTypeRaw:
		return &msgSchema{kinds: jkAny}
	case msgTypeCoordinate:
		return &msgSchema{kinds: jkString | jkNumber, numeric: true}
	case msgTypeIndex, msgTypeTTL:
		return &msgSchema{kinds: jkString | jkNumber}
	}
	switch t.Kind() {
	case reflect.String:
		return &msgSchema{kinds: jkString}
	case reflect.Bool:
		return &msgSchema{kinds: jkBool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &msgSchema{kinds: jkNumber, integer: true}
	case reflect.Float32, reflect.Float64:
		return &msgSchema{kinds: jkNumber}
	case reflect.Slice, reflect.Array:
		s := &msgSchema{kinds: jkArray}
		memo[t] = s
		s.elem = buildMsgSchema(t.Elem(), memo)
		return s
	case reflect.Map, reflect.Interface:
		return &msgSchema{kinds: jkAny}
	case reflect.Struct:
		s := &msgSchema{kinds: jkObject, fields: map[string]*msgSchema{}, lower: map[string]string{}}
		memo[t] = s
		addMsgFields(s, t, memo)
		switch t {
		case msgTypeProvider: // `"provider": "name"` is accepted too (onprem-api.md §8.7b)
			s.kinds |= jkString
		case msgTypePhone: // the seed's "wa-id" alias (onprem-api.md §8.6)
			s.fields[wa.ContactPhoneAlias] = s.fields["wa_id"]
		}
		for name := range s.fields {
			s.lower[strings.ToLower(name)] = name
		}
		return s
	}
	return &msgSchema{kinds: jkAny}
}

func addMsgFields(s *msgSchema, t reflect.Type, memo map[reflect.Type]*msgSchema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addMsgFields(s, f.Type, memo) // embedded: its members are promoted (wa.FlowFields)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.HasPrefix(name, "waba_") {
			continue // waba's own annotations are never accepted from a client
		}
		s.fields[name] = buildMsgSchema(f.Type, memo)
	}
}

// ---- msgScanner ----

// msgScanner walks a syntactically valid JSON document against a msgSchema. It records unknown
// members and the first value of the wrong msgKind; it builds no values.
type msgScanner struct {
	b        []byte
	i        int
	path     []byte
	unknown  []wa.UnknownParam
	mismatch string // details of the first wrong-msgKind value
}

const maxUnknownParams = 8

func (s *msgScanner) value(sc *msgSchema) {
	s.i = skipJSONSpace(s.b, s.i)
	if s.i >= len(s.b) {
		return
	}
	start := s.i
	switch c := s.b[s.i]; {
	case c == '{':
		if sc.kinds&jkObject == 0 {
			s.wrongKind(sc, "an object")
			s.skip()
			return
		}
		if sc.fields == nil {
			s.skip()
			return
		}
		s.object(sc)
	case c == '[':
		if sc.kinds&jkArray == 0 {
			s.wrongKind(sc, "an array")
			s.skip()
			return
		}
		if sc.elem == nil {
			s.skip()
			return
		}
		s.array(sc.elem)
	case c == '"':
		end := s.stringEnd()
		if sc.kinds&jkString == 0 {
			s.wrongKind(sc, "a string")
		} else if sc.numeric && s.mismatch == "" {
			var str string
			if json.Unmarshal(s.b[start:end], &str) == nil && !isFiniteNumber(str) {
				s.mismatch = fmt.Sprintf("Parameter '%s' has invalid value %s; it must be a decimal number", s.path, clipJSON(s.b[start:end]))
			}
		}
		s.i = end
	case c == 't' || c == 'f':
		if sc.kinds&jkBool == 0 {
			s.wrongKind(sc, "a boolean")
		}
		s.skip()
	case c == 'n':
		s.i += len("null") // null is accepted everywhere: the member stays unset
	default:
		s.skip()
		if sc.kinds&jkNumber == 0 {
			s.wrongKind(sc, "a number")
		} else if sc.integer && s.mismatch == "" {
			lit := s.b[start:s.i]
			if _, err := strconv.ParseInt(string(lit), 10, 64); err != nil {
				s.mismatch = fmt.Sprintf("Parameter '%s' has invalid value %s; it must be an integer", s.path, lit)
			}
		} else if sc.numeric && s.mismatch == "" && !isFiniteNumber(string(s.b[start:s.i])) {
			s.mismatch = fmt.Sprintf("Parameter '%s' has invalid value %s; it must be a decimal number", s.path, clipJSON(s.b[start:s.i]))
		}
	}
}

func (s *msgScanner) object(sc *msgSchema) {
	s.i++ // {
	for {
		s.i = skipJSONSpace(s.b, s.i)
		if s.b[s.i] == '}' {
			s.i++
			return
		}
		kstart := s.i
		kend := s.stringEnd()
		key := s.b[kstart+1 : kend-1]
		if hasByte(key, '\\') {
			var k string
			if json.Unmarshal(s.b[kstart:kend], &k) == nil {
				key = []byte(k)
			}
		}
		s.i = skipJSONSpace(s.b, kend) + 1 // :
		mark := len(s.path)
		if mark > 0 {
			s.path = append(s.path, '.')
		}
		s.path = append(s.path, key...)
		if child, ok := sc.fields[string(key)]; ok {
			s.value(child)
		} else {
			if len(s.unknown) < maxUnknownParams {
				s.unknown = append(s.unknown, wa.UnknownParam{Path: string(s.path), Suggestion: sc.lower[strings.ToLower(string(key))]})
			}
			s.skip()
		}
		s.path = s.path[:mark]
		s.i = skipJSONSpace(s.b, s.i)
		if s.b[s.i] == ',' {
			s.i++
		}
	}
}

func (s *msgScanner) array(elem *msgSchema) {
	s.i++ // [
	for n := 0; ; n++ {
		s.i = skipJSONSpace(s.b, s.i)
		if s.b[s.i] == ']' {
			s.i++
			return
		}
		mark := len(s.path)
		s.path = append(s.path, '[')
		s.path = strconv.AppendInt(s.path, int64(n), 10)
		s.path = append(s.path, ']')
		s.value(elem)
		s.path = s.path[:mark]
		s.i = skipJSONSpace(s.b, s.i)
		if s.b[s.i] == ',' {
			s.i++
		}
	}
}

func (s *msgScanner) wrongKind(sc *msgSchema, got string) {
	if s.mismatch != "" {
		return
	}
	s.mismatch = fmt.Sprintf("Parameter '%s' has a value of the wrong type: expected %s, got %s", s.path, describeMsgSchema(sc), got)
}

// skip moves past one value.
func (s *msgScanner) skip() {
	s.i = skipJSONSpace(s.b, s.i)
	if s.i >= len(s.b) {
		return
	}
	switch c := s.b[s.i]; c {
	case '"':
		s.i = s.stringEnd()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.i = s.stringEnd()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// stringEnd returns the index just past the string starting at s.i.
func (s *msgScanner) stringEnd() int {
	j := s.i + 1
	for j < len(s.b) {
		switch s.b[j] {
		case '\\':
			j += 2
			continue
		case '"':
			return j + 1
		}
		j++
	}
	return len(s.b)
}

func describeMsgSchema(sc *msgSchema) string {
	var parts []string
	if sc.kinds&jkString != 0 {
		parts = append(parts, "a string")
	}
	if sc.kinds&jkNumber != 0 {
		if sc.integer {
			parts = append(parts, "an integer")
		} else {
			parts = append(parts, "a number")
		}
	}
	if sc.kinds&jkBool != 0 {
		parts = append(parts, "a boolean")
	}
	if sc.kinds&jkObject != 0 {
		parts = append(parts, "an object")
	}
	if sc.kinds&jkArray != 0 {
		parts = append(parts, "an array")
	}
	return strings.Join(parts, " or ")
}

// isFiniteNumber mirrors wa.Coordinate's UnmarshalJSON.
func isFiniteNumber(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func jsonKindName(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func withArticle(k string) string {
	switch k {
	case "object", "array":
		return "an " + k
	case "null":
		return "null"
	}
	return "a " + k
}

// jsonLineCol gives the 1-based line and column (in characters) of byte offset off.
func jsonLineCol(b []byte, off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(b) {
		off = len(b)
	}
	line, col = 1, 1
	for i := 0; i < off; {
		r, n := utf8.DecodeRune(b[i:])
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += n
	}
	return line, col
}

func clipJSON(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}
