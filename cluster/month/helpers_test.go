package month_test

import (
	"testing"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

func newService(t testing.TB, model vocab.Model) (*identity.Service, *store.Store) {
	t.Helper()
	return reopen(t, t.TempDir(), model)
}

func reopen(t testing.TB, dir string, model vocab.Model) (*identity.Service, *store.Store) {
	t.Helper()
	st, err := store.Open(dir, store.Options{Model: model, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := identity.New(st, identity.Options{})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return svc, st
}
