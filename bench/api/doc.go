// Command api-bench measures the training service's REST API under load:
// it seeds a store with -jobs jobs (COPY / one transaction), serves the
// API on 127.0.0.1 with bearer auth, and runs -clients concurrent clients
// that list and read jobs for -duration. It does this for PostgreSQL and
// SQLite in one run and prints a markdown table.
//
//	go run ./bench/api -jobs 100000 -clients 200 -duration 30s
package main
