// Command store measures the job store's List and Get latency on a large
// store, SQLite and PostgreSQL side by side, with many concurrent clients
// (the REST API's listing sits right on top of these calls).
//
//	go run ./bench/store -n 100000 -clients 1,200 -requests 2000
//
// PostgreSQL: a fresh database is created on -pg's server and dropped after.
package main
