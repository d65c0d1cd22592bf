// Package backend says where a training job runs. There are two
// implementations behind one interface: backend/local (a child process of
// this binary, the default, no AWS needed) and backend/sagemaker.
//
// The request is SageMaker's own CreateTrainingJobInput, so both backends
// speak one language: the local backend honours the same fields (image is
// ignored: it runs this binary's trainer), and additionally accepts file://
// URIs for channels and the output path.
package backend
