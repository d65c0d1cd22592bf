package postgres_test

import (
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/storetest"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func TestSubjectEvents(t *testing.T) {
	storetest.RunSubjectEvents(t, func(t *testing.T) store.Store {
		return open(t, testpeer.PostgresDSN(t))
	})
}
