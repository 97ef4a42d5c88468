// Package config holds waba's settings: their defaults, how a YAML file, the environment and
// command-line flags override them (in that order), and the checks that run before start.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/openwaba/waba/internal/tlsutil"
	"github.com/openwaba/waba/internal/wa"
)

// Config is everything `waba serve` needs. Field comments give the YAML key, the environment
// variable and the flag, and the default.
type Config struct {
	// Addr is the listen address. addr / WABA_ADDR / --addr; default 127.0.0.1:9090.
	Addr string `yaml:"addr"`
	// Data is the folder for the SQLite database and files. data / WABA_DATA / --data; default ./waba-data.
	Data string `yaml:"data"`
	// DB selects the database: empty for SQLite in Data, a postgres:// URL for PostgreSQL,
	// or sqlite:<path> for a SQLite file elsewhere. db / WABA_DB / --db.
	DB string `yaml:"db"`
	// AdminPassword presets the On-Prem admin password so scripts skip the forced change.
	// admin_password / WABA_ADMIN_PASSWORD (no flag, so it stays out of `ps`).
	AdminPassword string `yaml:"admin_password"`
	// PhoneNumber is the default business phone number (digits, wa_id form).
	// phone_number / WABA_PHONE_NUMBER / --phone-number; default 15550001111.
	PhoneNumber string `yaml:"phone_number"`
	// PhoneNumberID, WABAID and AccessToken are the Cloud API identity of the business number:
	// the `{phone-number-id}` and `{waba-id}` of Graph paths (digits) and the bearer token the
	// Cloud routes require. Where unset, random values are made on the first start, kept in the
	// store (setting cloud.number) and printed in the banner. phone_number_id /
	// WABA_PHONE_NUMBER_ID, waba_id / WABA_WABA_ID, access_token / WABA_ACCESS_TOKEN (no flag,
	// so the token stays out of `ps`).
	PhoneNumberID string `yaml:"phone_number_id"`
	WABAID        string `yaml:"waba_id"`
	AccessToken   string `yaml:"access_token"`
	// AppSecret signs Cloud webhooks (X-Hub-Signature-256) and VerifyToken answers the
	// hub.challenge handshake; random where unset, kept in the store and printed in the banner.
	// app_secret / WABA_APP_SECRET, verify_token / WABA_VERIFY_TOKEN (no flags: secrets).
	AppSecret   string `yaml:"app_secret"`
	VerifyToken string `yaml:"verify_token"`
	// CallbackURL is the Cloud app's webhook callback URL (the App Dashboard's setting on Meta);
	// number and WABA overrides win over it. callback_url / WABA_CALLBACK_URL.
	CallbackURL string `yaml:"callback_url"`
	// PublicURL is the origin clients reach waba at (scheme, host, port and any path prefix a
	// reverse proxy strips), for absolute URLs made outside a request: the `url` of media in
	// inbound Cloud webhooks (webhooks.md §2.2). Answers to requests (GET /{media-id}) use the
	// request's own host instead. public_url / WABA_PUBLIC_URL; default the listener's URL,
	// with 127.0.0.1 for an unspecified address (0.0.0.0, ::).
	PublicURL string `yaml:"public_url"`
	// WebhookDialect is the default number's webhook format: onprem (default; to
	// /v1/settings/application webhooks.url) or cloud (to the Cloud callback URL).
	// webhook_dialect / WABA_WEBHOOK_DIALECT.
	WebhookDialect string `yaml:"webhook_dialect"`
	// Shards partitions dispatch work (1, 2, 4, 8, 16 or 32, as On-Prem multiconnect).
	// shards / WABA_SHARDS / --shards; default 1.
	Shards int `yaml:"shards"`
	// LogLevel is debug, info, warn or error. log_level / WABA_LOG_LEVEL / --log-level; default info.
	LogLevel string `yaml:"log_level"`
	// MaxBodyBytes caps JSON request bodies. max_body_bytes / WABA_MAX_BODY_BYTES; default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// CommitBatch caps how many accepted messages share one transaction. commit_batch /
	// WABA_COMMIT_BATCH; default 512 (shared/reference/performance.md).
	CommitBatch int `yaml:"commit_batch"`

	// Scenario is a YAML file of simulated users loaded at start. scenario / WABA_SCENARIO /
	// --scenario.
	Scenario string `yaml:"scenario"`
	// Seed makes the simulated network's latencies reproducible. seed / WABA_SEED; default 1.
	Seed int64 `yaml:"seed"`
	// RealisticLatency slows receipts to realistic spreads (seconds to deliver, minutes to
	// read) instead of the default few seconds. realistic_latency / WABA_REALISTIC_LATENCY.
	RealisticLatency bool `yaml:"realistic_latency"`
	// ReceiptLatency, when set, replaces the simulated delivered/read delays with this fixed
	// value (0s: immediate, for end-to-end throughput tests). receipt_latency /
	// WABA_RECEIPT_LATENCY; default unset (receipts within a few seconds).
	ReceiptLatency *time.Duration `yaml:"receipt_latency"`
	// UnknownUsers is how numbers nobody configured behave: "healthy" (online WhatsApp users,
	// the default) or "not_on_whatsapp". unknown_users / WABA_UNKNOWN_USERS.
	UnknownUsers string `yaml:"unknown_users"`

	// TLS serves HTTPS (HTTP/1.1 and HTTP/2) on Addr instead of plain HTTP. Without TLSCert,
	// waba makes a private CA and a server certificate in Data/tls on the first start and reuses
	// them later. tls / WABA_TLS / --tls; default false. Setting TLSCert and TLSKey turns it on.
	TLS bool `yaml:"tls"`
	// TLSHosts are extra names and addresses the generated certificate covers besides
	// 127.0.0.1, ::1 and localhost. tls_hosts / WABA_TLS_HOSTS / --tls-hosts (comma lists).
	TLSHosts []string `yaml:"tls_hosts"`
	// TLSCert and TLSKey are the operator's own certificate (PEM, leaf first, then any
	// intermediates) and private key (PEM), served instead of the generated pair. A pair that
	// does not match, is expired or cannot be read is a configuration problem.
	// tls_cert / WABA_TLS_CERT / --tls-cert and tls_key / WABA_TLS_KEY / --tls-key.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// WebhookInsecure turns off certificate verification for webhook deliveries over HTTPS,
	// for local testing against an endpoint with a certificate nothing trusts. waba logs a
	// warning at every start while it is on; the better fix is to upload the endpoint's CA
	// with POST /v1/certificates/webhooks/ca. webhook_insecure_skip_verify /
	// WABA_WEBHOOK_INSECURE; default false.
	WebhookInsecure bool `yaml:"webhook_insecure_skip_verify"`

	// ConfigFile is the YAML file read, if any (--config / WABA_CONFIG).
	ConfigFile string `yaml:"-"`
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		Addr:         "127.0.0.1:9090",
		Data:         "./waba-data",
		PhoneNumber:  "15550001111",
		Shards:       1,
		LogLevel:     "info",
		MaxBodyBytes: 1 << 20,
		CommitBatch:  512,
		Seed:         1,
	}
}

// IsPostgres reports whether DB selects PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// SQLitePath is the SQLite database file to use when DB does not select PostgreSQL.
func (c Config) SQLitePath() string {
	if p, ok := strings.CutPrefix(c.DB, "sqlite:"); ok && p != "" {
		return p
	}
	return c.Data + string(os.PathSeparator) + "waba.db"
}

// Problems is every problem found in a configuration; Load returns it so the caller can list
// them all at once and exit 2.
type Problems []string

func (p Problems) Error() string {
	return "invalid configuration:\n  - " + strings.Join(p, "\n  - ")
}

// Load builds the configuration from defaults, then the YAML file named by --config (or
// WABA_CONFIG), then the environment, then the flags in args. getenv is os.Getenv in main.
// It returns flag.ErrHelp when -h was asked for, and Problems when anything is invalid.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("waba serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		fAddr   = fs.String("addr", "", "listen address (default 127.0.0.1:9090; env WABA_ADDR)")
		fData   = fs.String("data", "", "data folder (default ./waba-data; env WABA_DATA)")
		fDB     = fs.String("db", "", "database: postgres://… URL or sqlite:<file> (default SQLite in the data folder; env WABA_DB)")
		fConfig = fs.String("config", "", "YAML configuration file (env WABA_CONFIG)")
		fPhone  = fs.String("phone-number", "", "default business phone number (default 15550001111; env WABA_PHONE_NUMBER)")
		fShards = fs.Int("shards", 0, "dispatch shards: 1, 2, 4, 8, 16 or 32 (default 1; env WABA_SHARDS)")
		fLog    = fs.String("log-level", "", "debug, info, warn or error (default info; env WABA_LOG_LEVEL)")
		fScen   = fs.String("scenario", "", "YAML file of simulated users to load at start (env WABA_SCENARIO)")
		fTLS    = fs.Bool("tls", false, "serve HTTPS with a generated certificate in <data>/tls (env WABA_TLS)")
		fHosts  = fs.String("tls-hosts", "", "comma list of extra names/IPs for the generated certificate (env WABA_TLS_HOSTS)")
		fCert   = fs.String("tls-cert", "", "your own certificate (PEM) instead of the generated one; implies --tls (env WABA_TLS_CERT)")
		fKey    = fs.String("tls-key", "", "the private key (PEM) of --tls-cert (env WABA_TLS_KEY)")
	)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, Problems{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}

	var problems Problems
	c.ConfigFile = first(*fConfig, getenv("WABA_CONFIG"))
	if c.ConfigFile != "" {
		if err := c.readFile(c.ConfigFile); err != nil {
			problems = append(problems, err.Error())
		}
	}

	// Environment.
	setStr(&c.Addr, getenv("WABA_ADDR"))
	setStr(&c.Data, getenv("WABA_DATA"))
	setStr(&c.DB, getenv("WABA_DB"))
	setStr(&c.AdminPassword, getenv("WABA_ADMIN_PASSWORD"))
	setStr(&c.PhoneNumber, getenv("WABA_PHONE_NUMBER"))
	setStr(&c.PhoneNumberID, getenv("WABA_PHONE_NUMBER_ID"))
	setStr(&c.WABAID, getenv("WABA_WABA_ID"))
	setStr(&c.AccessToken, getenv("WABA_ACCESS_TOKEN"))
	setStr(&c.AppSecret, getenv("WABA_APP_SECRET"))
	setStr(&c.VerifyToken, getenv("WABA_VERIFY_TOKEN"))
	setStr(&c.CallbackURL, getenv("WABA_CALLBACK_URL"))
	setStr(&c.PublicURL, getenv("WABA_PUBLIC_URL"))
	setStr(&c.WebhookDialect, getenv("WABA_WEBHOOK_DIALECT"))
	setStr(&c.LogLevel, getenv("WABA_LOG_LEVEL"))
	setStr(&c.Scenario, getenv("WABA_SCENARIO"))
	if v := getenv("WABA_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("WABA_SEED %q: not a whole number", v))
		}
		c.Seed = n
	}
	if v := getenv("WABA_REALISTIC_LATENCY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("WABA_REALISTIC_LATENCY %q: want true or false", v))
		}
		c.RealisticLatency = b
	}
	setStr(&c.UnknownUsers, getenv("WABA_UNKNOWN_USERS"))
	if v := getenv("WABA_RECEIPT_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("WABA_RECEIPT_LATENCY %q: want a duration such as 0s or 250ms", v))
		}
		c.ReceiptLatency = &d
	}
	problems = setBool(problems, &c.TLS, "WABA_TLS", getenv("WABA_TLS"))
	problems = setBool(problems, &c.WebhookInsecure, "WABA_WEBHOOK_INSECURE", getenv("WABA_WEBHOOK_INSECURE"))
	if v := getenv("WABA_TLS_HOSTS"); v != "" {
		c.TLSHosts = splitList(v)
	}
	setStr(&c.TLSCert, getenv("WABA_TLS_CERT"))
	setStr(&c.TLSKey, getenv("WABA_TLS_KEY"))
	problems = setInt(problems, &c.Shards, "WABA_SHARDS", getenv("WABA_SHARDS"))
	problems = setInt(problems, &c.CommitBatch, "WABA_COMMIT_BATCH", getenv("WABA_COMMIT_BATCH"))
	var maxBody int
	problems = setInt(problems, &maxBody, "WABA_MAX_BODY_BYTES", getenv("WABA_MAX_BODY_BYTES"))
	if maxBody != 0 {
		c.MaxBodyBytes = int64(maxBody)
	}

	// Flags.
	setStr(&c.Addr, *fAddr)
	setStr(&c.Data, *fData)
	setStr(&c.DB, *fDB)
	setStr(&c.PhoneNumber, *fPhone)
	setStr(&c.LogLevel, *fLog)
	setStr(&c.Scenario, *fScen)
	if *fShards != 0 {
		c.Shards = *fShards
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "tls" {
			c.TLS = *fTLS // --tls=false overrides WABA_TLS=1
		}
	})
	if *fHosts != "" {
		c.TLSHosts = splitList(*fHosts)
	}
	setStr(&c.TLSCert, *fCert)
	setStr(&c.TLSKey, *fKey)
	if c.TLSCert != "" || c.TLSKey != "" {
		c.TLS = true // bringing a certificate means serving it
	}

	problems = append(problems, c.Validate()...)
	if len(problems) > 0 {
		return c, problems
	}
	if n, ok := wa.NormalizePhone(c.PhoneNumber); ok {
		c.PhoneNumber = n
	}
	return c, nil
}

func (c *Config) readFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %v", path, err)
	}
	return nil
}

// Validate returns every problem in c; an empty result means c is usable.
func (c Config) Validate() Problems {
	var p Problems
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		p = append(p, fmt.Sprintf("addr %q: want host:port (%v)", c.Addr, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p = append(p, fmt.Sprintf("addr %q: port must be a number from 0 to 65535", c.Addr))
	}
	if strings.TrimSpace(c.Data) == "" {
		p = append(p, "data: must name a folder")
	}
	if c.DB != "" && !c.IsPostgres() && !strings.HasPrefix(c.DB, "sqlite:") {
		p = append(p, fmt.Sprintf("db %q: want a postgres:// URL or sqlite:<file>", redactURL(c.DB)))
	}
	for _, f := range []struct{ name, v string }{{"phone_number_id", c.PhoneNumberID}, {"waba_id", c.WABAID}} {
		if f.v != "" && (len(f.v) > 20 || strings.Trim(f.v, "0123456789") != "") {
			p = append(p, fmt.Sprintf("%s %q: want up to 20 digits, as Graph object ids are", f.name, f.v))
		}
	}
	if c.PhoneNumberID != "" && c.PhoneNumberID == c.WABAID {
		p = append(p, "phone_number_id and waba_id must differ: they name different Graph objects")
	}
	if c.AccessToken != "" && (len(c.AccessToken) < 16 || strings.ContainsAny(c.AccessToken, " \t\r\n")) {
		p = append(p, "access_token: want at least 16 characters and no spaces")
	}
	switch c.WebhookDialect {
	case "", "onprem", "cloud":
	default:
		p = append(p, fmt.Sprintf("webhook_dialect %q: want onprem or cloud", c.WebhookDialect))
	}
	if c.CallbackURL != "" {
		if u, err := url.Parse(c.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("callback_url %q: want an http:// or https:// URL", c.CallbackURL))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			// The value is not echoed: it may hold a password.
			p = append(p, "public_url: want an http:// or https:// URL without user, query or fragment, e.g. https://waba.example.com")
		}
	}
	if _, ok := wa.NormalizePhone(c.PhoneNumber); !ok {
		p = append(p, fmt.Sprintf("phone_number %q: not a phone number in international format", c.PhoneNumber))
	}
	switch c.Shards {
	case 1, 2, 4, 8, 16, 32:
	default:
		p = append(p, fmt.Sprintf("shards %d: must be 1, 2, 4, 8, 16 or 32", c.Shards))
	}
	if c.ReceiptLatency != nil && *c.ReceiptLatency < 0 {
		p = append(p, fmt.Sprintf("receipt_latency %v: must not be negative", *c.ReceiptLatency))
	}
	switch c.UnknownUsers {
	case "", "healthy", "not_on_whatsapp":
	default:
		p = append(p, fmt.Sprintf("unknown_users %q: must be healthy or not_on_whatsapp", c.UnknownUsers))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("log_level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.MaxBodyBytes < 1024 {
		p = append(p, fmt.Sprintf("max_body_bytes %d: must be at least 1024", c.MaxBodyBytes))
	}
	if c.CommitBatch < 1 || c.CommitBatch > 10000 {
		p = append(p, fmt.Sprintf("commit_batch %d: must be from 1 to 10000", c.CommitBatch))
	}
	if c.Scenario != "" {
		if _, err := os.Stat(c.Scenario); err != nil {
			p = append(p, fmt.Sprintf("scenario %q: %v", c.Scenario, err))
		}
	}
	p = append(p, c.validateTLS()...)
	if c.AdminPassword != "" {
		if why := PasswordProblem(c.AdminPassword); why != "" {
			p = append(p, "WABA_ADMIN_PASSWORD: "+why)
		}
	}
	return p
}

// validateTLS checks the TLS settings; with TLSCert and TLSKey it reads and checks the pair
// (readable, matching, within its validity), so a bad certificate stops the start with exit 2.
func (c Config) validateTLS() Problems {
	var p Problems
	for _, h := range c.TLSHosts {
		if why := tlsutil.CheckHost(h); why != "" {
			p = append(p, fmt.Sprintf("tls_hosts %q: %s", h, why))
		}
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		p = append(p, "tls_cert is set but tls_key is not: give the certificate's private key with --tls-key")
	case c.TLSKey != "" && c.TLSCert == "":
		p = append(p, "tls_key is set but tls_cert is not: give the certificate with --tls-cert")
	case c.TLSCert != "":
		if _, err := tlsutil.LoadPair(c.TLSCert, c.TLSKey, time.Now()); err != nil {
			p = append(p, err.Error())
		}
	}
	return p
}

// passwordSpecials are the special characters the On-Prem password policy counts
// (shared/reference/onprem-api.md §2.4).
const passwordSpecials = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// PasswordProblem checks the On-Prem password policy (shared/reference/onprem-api.md §2.4):
// 8–64 characters with at least one digit, one upper-case letter, one lower-case letter and
// one special character. It returns "" for a good password, or what is wrong.
func PasswordProblem(pw string) string {
	n := len([]rune(pw))
	var digit, upper, lower, special bool
	for _, r := range pw {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case strings.ContainsRune(passwordSpecials, r):
			special = true
		}
	}
	var missing []string
	if n < 8 || n > 64 {
		missing = append(missing, fmt.Sprintf("8 to 64 characters (has %d)", n))
	}
	if !digit {
		missing = append(missing, "a digit")
	}
	if !upper {
		missing = append(missing, "an upper-case letter")
	}
	if !lower {
		missing = append(missing, "a lower-case letter")
	}
	if !special {
		missing = append(missing, "a special character from "+passwordSpecials)
	}
	if len(missing) == 0 {
		return ""
	}
	return "password must have " + strings.Join(missing, ", ")
}

func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j > 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}

// Redacted returns DB with any password removed, for logs and the banner.
func (c Config) Redacted() string { return redactURL(c.DB) }

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setBool(p Problems, dst *bool, name, v string) Problems {
	if v == "" {
		return p
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return append(p, fmt.Sprintf("%s %q: want true or false (or 1 or 0)", name, v))
	}
	*dst = b
	return p
}

// splitList splits a comma list, trimming spaces and dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func setInt(p Problems, dst *int, name, v string) Problems {
	if v == "" {
		return p
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return append(p, fmt.Sprintf("%s %q: not a whole number", name, v))
	}
	*dst = n
	return p
}
