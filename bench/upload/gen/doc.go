// Command gen writes the upload benchmark's data set: N drawings as PNG files
// of noise (20 to 200 KB, stored uncompressed so the size is what was asked)
// in 50 sub-folders, and a metadata.csv the trainer accepts. Deterministic.
package main
