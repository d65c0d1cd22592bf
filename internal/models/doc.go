// Package models is the model's way from a completed training job to the
// screening application: immutable exports (sagetrain or ONNX format,
// optionally of an age sub-range), their validation, deployments (the
// active model per age range, with history so an undeploy brings the
// previous one back) and scoring a drawing with the active deployment.
//
// An export is a folder <root>/<id>/ holding model.json, weights.bin,
// metrics.json, model.onnx (ONNX format) and export.json. Its SHA-256 is
// taken over every file, in name order, as name NUL size NUL bytes; the store
// keeps it, so changing one byte of any file fails validation.
package models
