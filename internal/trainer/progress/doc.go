// Package progress is the trainer's progress lines on stdout as types: the
// trainer writes each line with Format, and every reader of a job's log (the
// service, the dashboard, the CLI's watch) reads it with Parse. The text is
// the documented log format (docs/trainer.md), and SageMaker's metric
// definitions match it, so Format must keep writing exactly these lines.
package progress
