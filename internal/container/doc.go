// Package container is SageMaker's training container contract, as both
// backends and the trainer honour it: the /opt/ml layout, the config file
// names, the environment variable names and the failure file. It has no
// dependencies, so the trainer, the local runner and the SageMaker emulator
// all name the same files from here (see DESIGN.md, "The container
// contract").
package container
