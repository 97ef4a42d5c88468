package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/waerr"
)

// MediaProvidersKey is the store setting of the On-Prem media providers (JSON list).
const MediaProvidersKey = "onprem.media_providers"

// MediaProvider is one On-Prem media provider (shared/reference/onprem-api.md §9.2): the
// credentials waba sends when it fetches a `link` whose message names the provider.
//
//	{ "name": "my-provider", "type": "www", "config": { "bearer": "<token>" } }
//	{ "name": "my-provider", "type": "www", "config": { "basic": { "username": "u", "password": "p" } } }
type MediaProvider struct {
	Name   string              `json:"name"`
	Type   string              `json:"type"`
	Config MediaProviderConfig `json:"config"`
}

// MediaProviderConfig holds exactly one of Bearer and Basic.
type MediaProviderConfig struct {
	Bearer string      `json:"bearer,omitempty"`
	Basic  *BasicCreds `json:"basic,omitempty"`
}

// BasicCreds is a username and password for HTTP basic authentication.
type BasicCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

var providerName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Masked returns p with its secrets replaced, for answers: the credentials are write-only.
func (p MediaProvider) Masked() MediaProvider {
	if p.Config.Bearer != "" {
		p.Config.Bearer = "********"
	}
	if p.Config.Basic != nil {
		b := *p.Config.Basic
		b.Password = "********"
		p.Config.Basic = &b
	}
	return p
}

func (p MediaProvider) check() error {
	if !providerName.MatchString(p.Name) {
		return waerr.New(waerr.InvalidParam, "Provider 'name' has invalid value '%s'; use 1 to 64 letters, digits, '_', '-' or '.'", clipValue(p.Name))
	}
	if p.Type != "www" {
		return waerr.New(waerr.InvalidParam, "Provider 'type' has invalid value '%s'; the only type is 'www'", clipValue(p.Type))
	}
	c := p.Config
	switch {
	case c.Bearer != "" && c.Basic != nil:
		return waerr.New(waerr.InvalidParam, "Provider 'config' must hold either 'bearer' or 'basic', not both")
	case c.Bearer == "" && c.Basic == nil:
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'config.bearer' or 'config.basic'")
	case c.Basic != nil && (c.Basic.Username == "" || c.Basic.Password == ""):
		return waerr.New(waerr.MissingParam, "Missing mandatory parameter 'config.basic.username' or 'config.basic.password'")
	}
	return nil
}

// MediaProviders lists the configured providers, by name.
func (e *Engine) MediaProviders(ctx context.Context) ([]MediaProvider, error) {
	raw, err := e.st.GetSetting(ctx, MediaProvidersKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read media providers: %w", err)
	}
	var list []MediaProvider
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("setting %s: %w", MediaProvidersKey, err)
	}
	return list, nil
}

// MediaProvider returns one provider by name.
func (e *Engine) MediaProvider(ctx context.Context, name string) (MediaProvider, bool, error) {
	list, err := e.MediaProviders(ctx)
	if err != nil {
		return MediaProvider{}, false, err
	}
	i := slices.IndexFunc(list, func(p MediaProvider) bool { return p.Name == name })
	if i < 0 {
		return MediaProvider{}, false, nil
	}
	return list[i], true, nil
}

// PutMediaProvider adds p or replaces the provider of the same name.
func (e *Engine) PutMediaProvider(ctx context.Context, p MediaProvider) error {
	if err := p.check(); err != nil {
		return err
	}
	list, err := e.MediaProviders(ctx)
	if err != nil {
		return err
	}
	list = slices.DeleteFunc(list, func(q MediaProvider) bool { return q.Name == p.Name })
	list = append(list, p)
	slices.SortFunc(list, func(a, b MediaProvider) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return e.putProviders(ctx, list)
}

// DeleteMediaProvider removes a provider; a name that is not configured is a 404 (1006).
func (e *Engine) DeleteMediaProvider(ctx context.Context, name string) error {
	list, err := e.MediaProviders(ctx)
	if err != nil {
		return err
	}
	n := len(list)
	list = slices.DeleteFunc(list, func(q MediaProvider) bool { return q.Name == name })
	if len(list) == n {
		return waerr.New(waerr.NotFound, "No media provider is named '%s'", clipValue(name))
	}
	return e.putProviders(ctx, list)
}

func (e *Engine) putProviders(ctx context.Context, list []MediaProvider) error {
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode media providers: %w", err)
	}
	if err := e.st.PutSetting(ctx, MediaProvidersKey, b); err != nil {
		return fmt.Errorf("store media providers: %w", err)
	}
	return nil
}
