package container

import "path/filepath"

// The root and how to move it (the local backend and tests run the same
// trainer in a temporary folder).
const (
	DefaultRoot = "/opt/ml"
	EnvRoot     = "SAGETRAIN_ML_ROOT" // overrides DefaultRoot; `train --ml-root` overrides both
)

// The layout under the root, slash-separated (Path joins them).
const (
	ConfigDir     = "input/config"   // the three config files
	DataDir       = "input/data"     // one folder per channel
	ModelDir      = "model"          // packed into model.tar.gz
	OutputDataDir = "output/data"    // packed into output.tar.gz
	FailureFile   = "output/failure" // the reason of a failure, with a non-zero exit
	CheckpointDir = "checkpoints"    // synced to the checkpoint S3 URI; spot jobs resume from it
)

// Dirs are the folders a runner creates under a host's root before the
// trainer starts.
var Dirs = []string{ConfigDir, DataDir, ModelDir, OutputDataDir, CheckpointDir}

// The config files in ConfigDir.
const (
	HyperparametersFile = "hyperparameters.json" // every value a string
	InputDataConfigFile = "inputdataconfig.json"
	ResourceConfigFile  = "resourceconfig.json"
)

// What SageMaker makes of ModelDir and OutputDataDir.
const (
	ModelArchive  = "model.tar.gz"
	OutputArchive = "output.tar.gz"
)

// TrainArgument is what SageMaker appends to the image's entrypoint.
const TrainArgument = "train"

// The environment a trainer is started with.
const (
	EnvTrainingJobName = "TRAINING_JOB_NAME"
	EnvTrainingJobARN  = "TRAINING_JOB_ARN"
	EnvCurrentHost     = "SM_CURRENT_HOST"
	// EnvHostAddresses lists where each host of a multi-instance job listens
	// for the model exchange: "algo-1=10.0.0.5:7077,algo-2=10.0.0.6:7077".
	// Absent, every host listens on DefaultExchangePort of its host name.
	EnvHostAddresses    = "SAGETRAIN_HOST_ADDRESSES"
	DefaultExchangePort = 7077
)

// Path is a layout entry (one of the constants above, optionally followed
// by more elements such as a channel name) under root.
func Path(root string, rel ...string) string {
	parts := make([]string, 0, len(rel)+1)
	parts = append(parts, root)
	for _, r := range rel {
		parts = append(parts, filepath.FromSlash(r))
	}
	return filepath.Join(parts...)
}
