// Command quality is the trainer's quality benchmark on real images
// (issues 15 and 18): Debian's dataset-fashion-mnist rendered dark on white
// at 112 px, the trainer's default recipe next to baselines in the same run
// (scikit-learn on Debian's /usr/bin/python3: one-class SVM, isolation
// forest, PCA reconstruction and 5-NN on raw pixels, 5-NN on our
// descriptor; per-age 5-NN on HOG and raw pixels for the age-band task),
// with the wall time of each.
//
//	go run ./bench/quality -task oneclass -classes 0,1,2,3,4
//	go run ./bench/quality -task ageband -pairs 0:2 -per-year 50,100
//
// Classes 0-4 are for development; 5-9 judge the result and are kept out
// of tuning (-classes 5,6,7,8,9 runs them, anomalies then come from 5-9).
package main
