package waerr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// onPremHTTP is errors.md §4.2 ("statuses the WebApp code actually returns"): for each HTTP status,
// the On-Prem error codes the 2019 WebApp answers with it. 1005 appears twice: 401 for missing or
// invalid credentials, 403 for a missing role.
var onPremHTTP = map[int][]int{
	400: {1001, 1002, 1003, 1008, 1009, 1010, 1013, 1019, 1020, 1021, 1025,
		2000, 2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012},
	401: {1024, 1005},
	403: {1005, 1007},
	404: {1006, 1012, 2001, 2002, 2003},
	409: {1004},
	412: {1022},
	429: {1015},
	500: {0, 1000, 1011, 1014, 1017, 1018, 1023},
	501: {1026, 2013},
	503: {1016},
}

// onPremRecommended is §4.2's recommendation for codes the WebApp build does not know (1027 and up,
// 2014 and up): not Meta fact, so the catalogue must say UNCONFIRMED for each.
func onPremRecommended(code int) (status int, ok bool) {
	switch {
	case code == 1028:
		return 400, true
	case code == 1031:
		return 403, true
	case code >= 2014 && code <= 2050, code >= 2060 && code <= 2062, code >= 2063 && code <= 2070:
		return 400, true
	}
	return 0, false
}

func TestNamesUnique(t *testing.T) {
	dotted := regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
	names := map[string]bool{}
	conds := map[*Condition]bool{}
	for _, c := range All {
		if names[c.Name] {
			t.Errorf("duplicate name %q", c.Name)
		}
		if conds[c] {
			t.Errorf("condition %q listed twice in All", c.Name)
		}
		names[c.Name], conds[c] = true, true
		if !dotted.MatchString(c.Name) {
			t.Errorf("%q: name is not dotted lowercase", c.Name)
		}
	}
}

func TestEntriesWellFormed(t *testing.T) {
	for _, c := range All {
		if c.Meaning == "" {
			t.Errorf("%s: no meaning", c.Name)
		}
		if c.Cloud.Code != 0 && (c.Cloud.Title == "" || c.Cloud.Type == "") {
			t.Errorf("%s: Cloud code %d needs a title and a type", c.Name, c.Cloud.Code)
		}
		if c.OnPrem.Code != 0 && c.OnPrem.Title == "" {
			t.Errorf("%s: On-Prem code %d needs a title", c.Name, c.OnPrem.Code)
		}
		// On-Prem codes below 1000 are webhook codes (errors.md §1.1, §7.3): never an HTTP status.
		if c.OnPrem.Code > 0 && c.OnPrem.Code < 1000 && c.OnPrem.HTTP != 0 {
			t.Errorf("%s: webhook code %d has HTTP %d, want 0", c.Name, c.OnPrem.Code, c.OnPrem.HTTP)
		}
		if c.OnPrem.Code == 0 && c.OnPrem.HTTP != 0 && c != Undefined {
			t.Errorf("%s: HTTP status without an On-Prem code", c.Name)
		}
	}
}

// TestOnPremHTTPMatchesWebApp checks every synchronous On-Prem code against errors.md §4.2.
func TestOnPremHTTPMatchesWebApp(t *testing.T) {
	allowed := map[int]map[int]bool{} // code → statuses
	for status, codes := range onPremHTTP {
		for _, code := range codes {
			if allowed[code] == nil {
				allowed[code] = map[int]bool{}
			}
			allowed[code][status] = true
		}
	}
	for _, c := range All {
		code := c.OnPrem.Code
		if c.OnPrem.HTTP == 0 || (code == 0 && c != Undefined) {
			continue
		}
		if statuses, ok := allowed[code]; ok {
			if !statuses[c.OnPrem.HTTP] {
				t.Errorf("%s: On-Prem %d answers HTTP %d; §4.2 says %v", c.Name, code, c.OnPrem.HTTP, keys(statuses))
			}
			continue
		}
		if status, ok := onPremRecommended(code); ok {
			if c.OnPrem.HTTP != status {
				t.Errorf("%s: On-Prem %d answers HTTP %d; §4.2 recommends %d", c.Name, code, c.OnPrem.HTTP, status)
			}
			if !strings.Contains(c.Meaning, "UNCONFIRMED") {
				t.Errorf("%s: On-Prem %d uses a recommended status; meaning must say UNCONFIRMED", c.Name, code)
			}
			continue
		}
		t.Errorf("%s: On-Prem %d (HTTP %d) is neither in §4.2's table nor its recommendation", c.Name, code, c.OnPrem.HTTP)
	}
	// Every code §4.2 lists that is still emitted must be in the catalogue.
	for status, codes := range onPremHTTP {
		for _, code := range codes {
			if code == 0 {
				continue
			}
			if _, ok := ByOnPremCode(code); !ok {
				t.Errorf("§4.2 lists %d under HTTP %d but the catalogue has no entry", code, status)
			}
		}
	}
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestByName(t *testing.T) {
	for _, c := range All {
		got, ok := ByName(c.Name)
		if !ok || got != c {
			t.Errorf("ByName(%q) = %v, %v; want the catalogue entry", c.Name, got, ok)
		}
	}
	if c, ok := ByName("no.such_condition"); ok {
		t.Errorf("ByName(unknown) = %v, true; want false", c.Name)
	}
}

func TestByOnPremCode(t *testing.T) {
	tests := []struct {
		code int
		want *Condition
	}{
		{1000, Generic},
		{1005, AuthMissing}, // the first of several 1005 conditions
		{1008, MissingParam},
		{1009, InvalidParam}, // not TemplateNamespaceMismatch
		{1014, Internal},     // not MediaUpload
		{1026, ReceiverIncapable},
		{1028, IdentityAckRequired},
		{2001, TemplateMissing},
		{2068, FlowBlocked},
		{470, WindowClosed},
		{429, ThroughputLimit}, // not MediaDownloadRateLimit
		{501, UnknownMessageType},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			got, ok := ByOnPremCode(tt.code)
			if !ok || got != tt.want {
				t.Fatalf("ByOnPremCode(%d) = %v, %v; want %s", tt.code, got, ok, tt.want.Name)
			}
		})
	}
	if c, ok := ByOnPremCode(9999); ok {
		t.Errorf("ByOnPremCode(9999) = %s, true; want false", c.Name)
	}
}

// TestKeyConditions pins the exact values errors.md gives for the conditions clients rely on most.
func TestKeyConditions(t *testing.T) {
	tests := []struct {
		name     string
		cond     *Condition
		onPrem   OnPrem
		cloud    Cloud
		delivery Delivery
	}{
		{"missing credentials", AuthMissing,
			OnPrem{1005, "Access denied", 401},
			Cloud{104, 0, "An access token is required to request this resource", 401, "OAuthException"}, Sync},
		{"expired token", AuthExpired,
			OnPrem{1005, "Access denied", 401},
			Cloud{190, 463, "Error validating access token", 401, "OAuthException"}, Sync},
		{"missing role", Forbidden,
			OnPrem{1005, "Access denied", 403},
			Cloud{10, 0, "Permission Denied", 403, "OAuthException"}, Sync},
		{"required parameter", MissingParam,
			OnPrem{1008, "Required parameter is missing", 400},
			Cloud{131008, 0, "Required parameter is missing", 400, "OAuthException"}, Sync},
		{"invalid value", InvalidParam,
			OnPrem{1009, "Parameter value is not valid", 400},
			Cloud{131009, 0, "Parameter value is not valid", 400, "OAuthException"}, Sync},
		{"unexpected parameter", UnexpectedParam,
			OnPrem{1010, "Parameter is not required", 400},
			Cloud{100, 0, "Invalid parameter", 400, "OAuthException"}, Sync},
		{"self send", BadUser,
			OnPrem{1021, "Bad User", 400},
			Cloud{131021, 0, "Recipient cannot be sender", 400, "OAuthException"}, Sync},
		{"rate limit", TooManyRequests,
			OnPrem{1015, "Too many requests", 429},
			Cloud{4, 0, "API Too Many Calls", 400, "OAuthException"}, Sync},
		{"overloaded", Overloaded,
			OnPrem{1016, "System overloaded", 503},
			Cloud{2, 0, "API Service", 503, "OAuthException"}, Sync},
		{"window closed", WindowClosed,
			OnPrem{470, "Re-engagement message", 0},
			Cloud{131047, 0, "Re-engagement message", 400, "OAuthException"}, Status},
		{"receiver incapable", ReceiverIncapable,
			OnPrem{1026, "Receiver Incapable", 501},
			Cloud{131026, 0, "Message Undeliverable", 400, "OAuthException"}, SyncOrStatus},
		{"marketing cap", MarketingCap,
			OnPrem{1026, "Receiver Incapable", 501},
			Cloud{131049, 0, "Meta chose not to deliver.", 400, "OAuthException"}, Status},
		{"pair rate", PairRateLimit,
			OnPrem{},
			Cloud{131056, 0, "(Business Account, Consumer Account) pair rate limit hit", 400, "OAuthException"}, Sync},
		{"spam", SpamRateLimit,
			OnPrem{471, "Spam Rate limit hit", 0},
			Cloud{131048, 0, "Spam rate limit hit", 400, "OAuthException"}, SyncOrStatus},
		{"send failed", SendFailed,
			OnPrem{500, "Generic error", 0},
			Cloud{131000, 0, "Something went wrong", 500, "OAuthException"}, SyncOrStatus},
		{"payment", PaymentIssue,
			OnPrem{402, "Business eligibility — Payment issue", 0},
			Cloud{131042, 0, "Business eligibility payment issue", 400, "OAuthException"}, SyncOrStatus},
		{"template missing", TemplateMissing,
			OnPrem{2001, "Template Missing", 404},
			Cloud{132001, 0, "Template does not exist", 404, "OAuthException"}, Sync},
		{"template params", TemplateParamCountMismatch,
			OnPrem{2000, "Template Param Count Mismatch", 400},
			Cloud{132000, 0, "Template Param Count Mismatch", 400, "OAuthException"}, Sync},
		{"template paused", TemplatePaused,
			OnPrem{2061, "Template Paused", 400},
			Cloud{132015, 0, "Template is Paused", 400, "OAuthException"}, SyncOrStatus},
		{"identity ack", IdentityAckRequired,
			OnPrem{1028, "A user_identity_changed system notification requires acknowledgement", 400},
			Cloud{}, Sync},
		{"sections", SectionCount,
			OnPrem{2015, "Invalid number of sections", 400},
			Cloud{131009, 0, "Parameter value is not valid", 400, "OAuthException"}, Sync},
		{"inbound unknown type", UnknownMessageType,
			OnPrem{501, "Unknown message type", 0},
			Cloud{131051, 0, "Message type unknown", 0, "OAuthException"}, Inbound},
		{"media download", MediaDownload,
			OnPrem{400, "Media download error", 0},
			Cloud{131052, 0, "Media download error", 400, "OAuthException"}, System},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cond.OnPrem != tt.onPrem {
				t.Errorf("%s On-Prem = %+v, want %+v", tt.cond.Name, tt.cond.OnPrem, tt.onPrem)
			}
			if tt.cond.Cloud != tt.cloud {
				t.Errorf("%s Cloud = %+v, want %+v", tt.cond.Name, tt.cond.Cloud, tt.cloud)
			}
			if tt.cond.Delivery != tt.delivery {
				t.Errorf("%s Delivery = %s, want %s", tt.cond.Name, tt.cond.Delivery, tt.delivery)
			}
		})
	}
}

func TestErrorWrapping(t *testing.T) {
	err := fmt.Errorf("send: %w", New(MissingParam, "Missing mandatory parameter '%s'", "to"))
	e, ok := As(err)
	if !ok {
		t.Fatalf("As(%v) found no *Error", err)
	}
	if e.Cond != MissingParam || e.Details != "Missing mandatory parameter 'to'" {
		t.Errorf("As = %+v", e)
	}
	if got, want := e.Error(), "req.missing_param: Missing mandatory parameter 'to'"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if _, ok := As(errors.New("plain")); ok {
		t.Error("As(plain error) = true")
	}
}
