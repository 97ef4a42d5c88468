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
	during func()
}

func (s *midReadStore) GetSetting(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.GetSetting(ctx, key)
	if f := s.during; f != nil && strings.HasPrefix(key, templateKeyPrefix) {
		s.during = nil
		f()
	}
	return v, err
}

// TestTemplateCacheKeepsNoStaleRead: a lookup that read a template before a status change
// landed may return what it read, but must not cache it; the next lookup sees the change.
func TestTemplateCacheKeepsNoStaleRead(t *testing.T) {
	st := &midReadStore{Store: settingsStore(t)}
	e := settingsEngine(t, st)
	ctx := t.Context()
	tpl := Template{Name: "order_ready", Language: "en_US", Category: CategoryUtility, Components: TemplateComponents{Body: "Your order is ready."}}
	if err := e.PutTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
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
