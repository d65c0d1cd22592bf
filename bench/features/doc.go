// Package featuresbench measures feature extraction: decoding 256x256 PNG
// drawings and computing the descriptor for a whole channel, as the trainer
// does. Run with bench/features/run.sh to compare with the peer (a
// ViT-B/16 forward pass in PyTorch, the original's feature extractor).
package featuresbench
