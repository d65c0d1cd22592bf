// Package data is the trainer's data contract: it reads a channel's
// metadata (CSV or JSON), its drawings and precomputed embeddings (.npy),
// maps subjects onto the original system's 64-value table, and counts every
// record that breaks a rule in a Report instead of failing on the first.
package data
