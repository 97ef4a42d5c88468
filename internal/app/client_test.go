package app

import (
	"bytes"
	"io"
	"net/http"
)

// tryPost sends a text message and returns the raw body; errors are returned, not fatal, for
// use from goroutines racing a shutdown.
func tryPost(base, token, body string) ([]byte, error) {
	req, err := http.NewRequest("POST", base+"/v1/messages", bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
