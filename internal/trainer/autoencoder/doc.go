// Package autoencoder is the network of the drawing anomaly detector: a
// fully connected autoencoder (Linear, ReLU, Dropout per hidden size; the
// decoder mirrors the encoder and ends in a plain Linear), trained with MSE
// and Adam (which flushes tiny values to zero: see kernels.go). It is float32
// throughout, runs its matrix products and Adam on
// the AVX2/FMA kernels of kernels_amd64.s (pure Go elsewhere, in
// kernels_generic.go) and is deterministic: the same data, config and seed
// give the same weights bit for bit, whatever the number of cores (a product
// is split over output blocks only, never over the summed dimension; see
// kernels.go).
package autoencoder
