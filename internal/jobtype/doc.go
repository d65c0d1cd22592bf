// Package jobtype holds the types every layer of sagetrain shares: a job's
// Status, the Job record and its Events. It imports nothing of sagetrain, so
// backends, the store, the service and the API can all use it without
// importing one another (river's rivertype plays the same part).
package jobtype
