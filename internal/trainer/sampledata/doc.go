// Package sampledata writes a deterministic synthetic data set of
// children's-drawing-like images (houses, people, trees, suns, with detail
// that grows with age) for the quickstart and the tests: a training channel
// of normal drawings and a test channel with a labelled share of anomalies
// (missing or broken parts: concern; scribbles, fragmented strokes: severe).
package sampledata
