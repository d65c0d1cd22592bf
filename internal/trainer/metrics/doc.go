// Package metrics is the trainer's metrics.json (the job's report) as Go
// types, for its readers (jobs, api, cli) without the trainer's
// dependencies. Numbers are pointers: a field an older trainer did not
// write, or wrote as null, reads as nil ("n/a").
package metrics
