package postgres_test

import (
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/storetest"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func TestSweeps(t *testing.T) {
	storetest.RunSweeps(t, func(t *testing.T) store.Store {
		return open(t, testpeer.PostgresDSN(t))
	})
}
