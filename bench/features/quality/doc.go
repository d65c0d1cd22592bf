// Command quality checks how well a feature set separates the labelled
// anomalies of a data set with a simple, untuned detector: per age group
// (floor(age) bins merged to >= 50 samples), features standardised on the
// normal training samples, score = reconstruction error of a PCA with the
// components that keep 90% of the variance. It prints the test ROC AUC for
// the Go descriptor and for raw pixels (32x32 grey), side by side.
//
//	go run ./bench/features/quality DIR   # DIR holds training/ and test/
package main
