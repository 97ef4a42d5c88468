package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/openwaba/waba/internal/store"
)

// midReadStore runs during once, right after a template read has got its value from the
// store and before the engine caches it: the interleaving of a send's lookup with the review's
// status change that once left a stale PENDING in the cache.
type midReadStore struct {
	store.Store
	during   func()
	afterPut func() // once, after a template write has committed and before PutSetting returns
}

func (s *midReadStore) PutSetting(ctx context.Context, key string, value []byte) error {
	err := s.Store.PutSetting(ctx, key, value)
	if f := s.afterPut; f != nil && strings.HasPrefix(key, templateKeyPrefix) {
		s.afterPut = nil
		f()
	}
	return err
}

func (s *midReadStore) GetSetting(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.GetSetting(ctx, key)
	if f := s.during; f != nil && strings.HasPrefix(key, templateKeyPrefix) {
		s.during = nil
		f()
	}
	return v, err
}

// pendingTemplate is an engine over a midReadStore holding one PENDING template.
func pendingTemplate(t *testing.T) (*midReadStore, *Engine, Template) {
	t.Helper()
	st := &midReadStore{Store: settingsStore(t)}
	e := settingsEngine(t, st)
	tpl := Template{Name: "order_ready", Language: "en_US", Category: CategoryUtility, Components: TemplateComponents{Body: "Your order is ready."}}
	if err := e.PutTemplate(t.Context(), tpl); err != nil {
		t.Fatal(err)
	}
	return st, e, tpl
}

// TestTemplateCacheKeepsNoStaleRead: a lookup that read a template before a status change
// landed may return what it read, but must not cache it; the next lookup sees the change.
func TestTemplateCacheKeepsNoStaleRead(t *testing.T) {
	st, e, tpl := pendingTemplate(t)
	ctx := t.Context()
	st.during = func() {
		if _, err := e.SetTemplateStatus(ctx, tpl.Name, tpl.Language, StatusApproved, ""); err != nil {
			t.Error(err)
		}
	}
	if got, err := e.GetTemplate(ctx, tpl.Name, tpl.Language); err != nil || got.Status != StatusPending {
		t.Fatalf("lookup overtaken by the approval: %+v, %v; want the PENDING it read", got, err)
	}
	if st.during != nil {
		t.Fatal("the approval did not run inside the lookup")
	}
	if got, err := e.GetTemplate(ctx, tpl.Name, tpl.Language); err != nil || got.Status != StatusApproved {
		t.Fatalf("next lookup: status %q, %v; want APPROVED (the stale read was cached)", got.Status, err)
	}
}

// TestTemplateCacheServesNoStaleEntryAfterCommit: once a status change is committed, a lookup
// sees it even before the writer has got round to invalidating the cache (a send right after
// the Graph GET showed APPROVED must not answer "PENDING").
func TestTemplateCacheServesNoStaleEntryAfterCommit(t *testing.T) {
	st, e, tpl := pendingTemplate(t)
	ctx := t.Context()
	if got, err := e.GetTemplate(ctx, tpl.Name, tpl.Language); err != nil || got.Status != StatusPending {
		t.Fatalf("first lookup (fills the cache): %+v, %v", got, err)
	}
	var between string
	st.afterPut = func() {
		got, err := e.GetTemplate(ctx, tpl.Name, tpl.Language)
		if err != nil {
			t.Error(err)
		}
		between = got.Status
	}
	if _, err := e.SetTemplateStatus(ctx, tpl.Name, tpl.Language, StatusApproved, ""); err != nil {
		t.Fatal(err)
	}
	if between != StatusApproved {
		t.Fatalf("lookup between the commit and the end of the write: %q, want APPROVED", between)
	}
	if got, err := e.GetTemplate(ctx, tpl.Name, tpl.Language); err != nil || got.Status != StatusApproved {
		t.Fatalf("lookup after the write: %q, %v", got.Status, err)
	}
}
