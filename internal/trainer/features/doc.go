// Package features turns a channel folder into training vectors: for images,
// the deterministic visual descriptor of this package joined with the
// 64-value subject one-hot of the original system; for embeddings.npy, the
// rows as they are.
package features
