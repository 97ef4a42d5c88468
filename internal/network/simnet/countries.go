package simnet

import (
	"strings"
	"time"
)

// restriction is a country or region whose users cannot receive platform messages, in force
// from From until Until (zero: open-ended). Data, not code, so rules can change with dates:
// seed 000 lists Cuba, Iran, North Korea, Syria and the Crimea, Donetsk and Luhansk regions;
// Turkey was restricted until businesses could message Turkish users from 2024-05-15.
type restriction struct {
	Country, Region string
	From, Until     time.Time
	Why             string
}

var restrictions = []restriction{
	{Country: "CU", Why: "sanctioned country (seed 000)"},
	{Country: "IR", Why: "sanctioned country (seed 000)"},
	{Country: "KP", Why: "sanctioned country (seed 000)"},
	{Country: "SY", Why: "sanctioned country (seed 000)"},
	{Region: "crimea", Why: "sanctioned region (seed 000)"},
	{Region: "donetsk", Why: "sanctioned region (seed 000)"},
	{Region: "luhansk", Why: "sanctioned region (seed 000)"},
	{Country: "TR", Until: time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC), Why: "Turkey, before the 2024-05-15 change (seed 000)"},
}

// restricted reports whether u cannot receive messages at time t, and why.
func restricted(u User, t time.Time) (bool, string) {
	for _, r := range restrictions {
		if r.Country != "" && r.Country != u.Country || r.Region != "" && r.Region != u.Region {
			continue
		}
		if !r.From.IsZero() && t.Before(r.From) || !r.Until.IsZero() && !t.Before(r.Until) {
			continue
		}
		return true, r.Why
	}
	return false, ""
}

// callingCodes maps calling-code prefixes to countries: enough for the rules above and for
// the profile shown in the UI; unknown prefixes give "".
var callingCodes = []struct{ prefix, country string }{
	{"850", "KP"}, {"963", "SY"}, {"380", "UA"}, {"53", "CU"}, {"98", "IR"}, {"90", "TR"},
	{"91", "IN"}, {"55", "BR"}, {"57", "CO"}, {"65", "SG"}, {"49", "DE"}, {"44", "GB"},
	{"81", "JP"}, {"86", "CN"}, {"34", "ES"}, {"33", "FR"}, {"39", "IT"}, {"52", "MX"},
	{"62", "ID"}, {"7", "RU"}, {"1", "US"},
}

func countryOf(waID string) string {
	for _, c := range callingCodes {
		if strings.HasPrefix(waID, c.prefix) {
			return c.country
		}
	}
	return ""
}

// RestrictedBusiness reports whether a business number's country may not use the platform:
// businesses in the sanctioned countries of seed 000 are refused (errors.md §5 row 7 suggests
// refusing to provision them). Regions cannot be told from a calling code.
func RestrictedBusiness(number string) (bool, string) {
	u := User{Country: countryOf(number)}
	for _, r := range restrictions {
		if r.Country != "" && r.Country == u.Country && r.Until.IsZero() {
			return true, r.Why
		}
	}
	return false, ""
}
