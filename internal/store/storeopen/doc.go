// Package storeopen picks and opens the job store a DSN names, so commands
// and the service share one rule:
//
//	""                              -> $SAGETRAIN_DB, else DefaultPath()
//	postgres://... postgresql://... -> PostgreSQL
//	sqlite://PATH                   -> the SQLite file PATH
//	any other scheme://...          -> a configuration error
//	anything else                   -> a SQLite file path
package storeopen
