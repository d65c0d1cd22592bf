// Package machine describes what a benchmark ran on: the CPU model, the
// cores and the load average, printed before and after every run so that no
// figure is read without the load it was taken at.
package machine
