// Package provenance says what a model was made from: the training image by
// digest, the data set by the digest of its manifest, the trainer's build,
// and the hyperparameters and seed as the trainer parsed them. The job
// record, the report, model.json and an export carry the same values.
//
// It has no sagetrain dependencies but buildinfo, so the trainer (inside the
// container) and the job service compute the data digest with the same code.
package provenance
