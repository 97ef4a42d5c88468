package app

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/openwaba/waba/internal/config"
)

const accessDenied = "Missing or invalid authentication credentials"

func TestLoginFlow(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		base := start(t, cfg).URL()

		// Every /v1 route but login needs a bearer token.
		wantError(t, do(t, base, request{method: "POST", path: "/v1/messages", body: `{}`}), 401, 1005, "Access denied", accessDenied)
		wantError(t, do(t, base, request{method: "GET", path: "/v1/users/admin", token: "nope"}), 401, 1005, "Access denied", accessDenied)
		wantError(t, do(t, base, request{method: "POST", path: "/v1/messages", body: `{}`, header: map[string]string{"Authorization": "Basic YWRtaW46c2VjcmV0"}}), 401, 1005, "Access denied", accessDenied)
		// Login itself needs Basic credentials.
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login"}), 401, 1005, "Access denied", accessDenied)
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "wrong"}}), 401, 1005, "Access denied", accessDenied)

		// The first admin login must change the password (onprem-api.md §2.4).
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "secret"}}),
			401, 1024, "Password Change Required", "Password must be changed")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "secret"}, body: `{}`}),
			401, 1024, "Password Change Required", "Password must be changed")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "secret"}, body: `{"new_password":"weakpass"}`}),
			400, 1009, "Parameter value is not valid", `Parameter 'new_password' is not valid: password must have a digit, an upper-case letter, a special character from !"#$%&'()*+,-./:;<=>?@[\]^_`+"`"+`{|}~`)

		before := time.Now().UTC()
		r := do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "secret"}, body: `{"new_password":"N3w-Passw0rd!"}`})
		if r.status != 200 {
			t.Fatalf("login with new_password: %d %s", r.status, r.raw)
		}
		if !regexp.MustCompile(`^\{"users":\[\{"token":"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+","expires_after":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00"\}\],"meta":\{"api_status":"stable","version":"v2\.45\.1"\}\}$`).Match(r.raw) {
			t.Fatalf("login body shape: %s", r.raw)
		}
		u := r.body["users"].([]any)[0].(map[string]any)
		exp, err := time.Parse("2006-01-02 15:04:05-07:00", u["expires_after"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if d := exp.Sub(before); d < 7*24*time.Hour-2*time.Second || d > 7*24*time.Hour+5*time.Second {
			t.Fatalf("expires_after is %v after login, want 7 days", d)
		}
		token := u["token"].(string)

		// The old password is gone; the new one logs in without new_password.
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", "secret"}}), 401, 1005, "Access denied", accessDenied)
		token2 := login(t, base, "admin", "N3w-Passw0rd!")
		if token2 == token {
			t.Fatal("two logins returned the same token")
		}

		// Logout revokes only that token.
		r = do(t, base, request{method: "POST", path: "/v1/users/logout", token: token})
		if r.status != 200 || string(r.raw) != `{"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("logout: %d %s", r.status, r.raw)
		}
		wantError(t, do(t, base, request{method: "GET", path: "/v1/users/admin", token: token}), 401, 1005, "Access denied", accessDenied)
		r = do(t, base, request{method: "GET", path: "/v1/users/admin", token: token2})
		if r.status != 200 || string(r.raw) != `{"users":[{"ROLES":"ROLE_ADMIN","username":"admin"}],"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("GET admin: %d %s", r.status, r.raw)
		}
	})
}

func TestUserManagement(t *testing.T) {
	drivers(t, func(t *testing.T, cfg config.Config) {
		cfg.AdminPassword = testAdminPassword
		base := start(t, cfg).URL()
		admin := login(t, base, "admin", testAdminPassword) // the preset skips the forced change

		r := do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jdoe","password":"Passw0rd!"}`})
		if r.status != 201 || string(r.raw) != `{"users":[{"username":"jdoe"}],"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jdoe","password":"Passw0rd!"}`}),
			409, 1004, "Resource already exists", "User 'jdoe' already exists")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"ab","password":"Passw0rd!"}`}),
			400, 1009, "Parameter value is not valid", "Parameter 'username' has invalid value 'ab': use 4 to 32 letters, digits or . _ ~ -")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jroe","password":"password"}`}),
			400, 1009, "Parameter value is not valid", `Parameter 'password' is not valid: password must have a digit, an upper-case letter, a special character from !"#$%&'()*+,-./:;<=>?@[\]^_`+"`"+`{|}~`)
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jroe"}`}),
			400, 1008, "Required parameter is missing", "Missing mandatory parameter 'password'")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jroe"`}),
			400, 1025, "Invalid Request", "Request body is not valid JSON: unexpected end of JSON input")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: admin, body: `{"username":"jroe","password":"Passw0rd!"}`, contentType: "text/plain"}),
			400, 1025, "Invalid Request", `Content-Type must be application/json (got "text/plain")`)
		wantError(t, do(t, base, request{method: "GET", path: "/v1/users/nobody", token: admin}), 404, 1006, "Resource not found", "User 'nobody' not found")

		user := login(t, base, "jdoe", "Passw0rd!")
		r = do(t, base, request{method: "GET", path: "/v1/users/jdoe", token: user})
		if r.status != 200 || string(r.raw) != `{"users":[{"ROLES":"ROLE_USER","username":"jdoe"}],"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("self GET: %d %s", r.status, r.raw)
		}
		// A user may not read others, create users, or delete anyone (onprem-api.md §2.3).
		wantError(t, do(t, base, request{method: "GET", path: "/v1/users/admin", token: user}), 403, 1005, "Access denied", "Only admins may read other users")
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users", token: user, body: `{"username":"jroe","password":"Passw0rd!"}`}), 403, 1005, "Access denied", "This call needs the admin role")
		wantError(t, do(t, base, request{method: "PUT", path: "/v1/users/admin", token: user, body: `{"password":"Passw0rd!2"}`}), 403, 1005, "Access denied", "Only admins may change other users' passwords")
		wantError(t, do(t, base, request{method: "DELETE", path: "/v1/users/jdoe", token: user}), 403, 1005, "Access denied", "Deleting users needs the admin role")

		// A user changes their own password.
		r = do(t, base, request{method: "PUT", path: "/v1/users/jdoe", token: user, body: `{"password":"Chang3d-Pw"}`})
		if r.status != 200 || string(r.raw) != `{"meta":{"api_status":"stable","version":"v2.45.1"}}` {
			t.Fatalf("PUT self: %d %s", r.status, r.raw)
		}
		wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"jdoe", "Passw0rd!"}}), 401, 1005, "Access denied", accessDenied)
		login(t, base, "jdoe", "Chang3d-Pw")

		// The built-in admin cannot be deleted; deleting a user revokes their tokens.
		wantError(t, do(t, base, request{method: "DELETE", path: "/v1/users/admin", token: admin}), 403, 1005, "Access denied", "The built-in admin user cannot be deleted")
		r = do(t, base, request{method: "DELETE", path: "/v1/users/jdoe", token: admin})
		if r.status != 200 {
			t.Fatalf("DELETE jdoe: %d %s", r.status, r.raw)
		}
		wantError(t, do(t, base, request{method: "GET", path: "/v1/users/jdoe", token: user}), 401, 1005, "Access denied", accessDenied)
		wantError(t, do(t, base, request{method: "DELETE", path: "/v1/users/jdoe", token: admin}), 404, 1006, "Resource not found", "User 'jdoe' not found")
	})
}

// TestBadLoginLimiter: 30 failed logins per IP per hour, then 1015/429 even for the right
// password (onprem-api.md §2.4).
func TestBadLoginLimiter(t *testing.T) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.AdminPassword = testAdminPassword
	base := start(t, cfg).URL()
	for i := 1; i <= 30; i++ {
		r := do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", fmt.Sprintf("wrong-%d", i)}})
		if r.status != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
	wantError(t, do(t, base, request{method: "POST", path: "/v1/users/login", basic: [2]string{"admin", testAdminPassword}}),
		429, 1015, "Too many requests", "Rate limiting exceeded on bad login attempts")
}
