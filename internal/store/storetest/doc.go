// Package storetest is the contract every store.Store driver must honour,
// written once as tests and run against each driver (SQLite, PostgreSQL).
//
//	func TestContract(t *testing.T) { storetest.Run(t, openFresh) }
//	func TestTwoInstances(t *testing.T) { storetest.RunShared(t, openPairOnOneDatabase) }
package storetest
