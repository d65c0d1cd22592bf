// Command sagetrain trains the drawing anomaly detector and manages its
// training jobs, on this machine or on Amazon SageMaker. See the README.
package main
