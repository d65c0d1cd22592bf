// Package dataset scans a training data set (a folder of drawings and its
// metadata file), checks it by the trainer's rules, and uploads it to S3 with
// a manifest: in parallel, incrementally, resuming an interrupted upload.
package dataset
