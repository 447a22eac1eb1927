package fsstore

import (
	"context"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

func TestRegistryConformance(t *testing.T) {
	storetest.RunRegistryWith(t, func(t *testing.T) store.Registry {
		s, err := Open(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.RegistryOptions{State: treeState})
}
