// Package trainer is the training program that runs inside the training
// container (SageMaker or the local backend): it follows SageMaker's
// container contract under an ml-root (default /opt/ml), builds age groups,
// splits and standardises the data, trains one autoencoder per group
// (dividing the groups among the hosts of a multi-instance job), evaluates
// it, and writes the model, metrics, history, loss curves and checkpoints.
// It also loads a trained model back and scores drawings with it.
package trainer
