package spec

// Spec describes one training job.
type Spec struct {
	JobName string `json:"job_name" yaml:"job_name"`
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"` // "local" (default) or "sagemaker"

	// Data: a local folder with its metadata file, or an S3 URI (exactly one).
	DatasetFolder  string `json:"dataset_folder,omitempty" yaml:"dataset_folder,omitempty"`
	MetadataFile   string `json:"metadata_file,omitempty" yaml:"metadata_file,omitempty"`
	InputDataS3URI string `json:"input_data_s3_uri,omitempty" yaml:"input_data_s3_uri,omitempty"`
	// Optional extra channels (validation, test): name -> local folder or S3 URI.
	Channels  map[string]string `json:"channels,omitempty" yaml:"channels,omitempty"`
	InputMode string            `json:"input_mode,omitempty" yaml:"input_mode,omitempty"` // File (default) or FastFile

	OutputS3URI string `json:"output_s3_uri,omitempty" yaml:"output_s3_uri,omitempty"` // s3://... or, for local, a folder
	ImageURI    string `json:"image_uri,omitempty" yaml:"image_uri,omitempty"`
	RoleARN     string `json:"role_arn,omitempty" yaml:"role_arn,omitempty"`

	InstanceType      string `json:"instance_type,omitempty" yaml:"instance_type,omitempty"`
	InstanceCount     int32  `json:"instance_count,omitempty" yaml:"instance_count,omitempty"`
	VolumeSizeGB      int32  `json:"volume_size_gb,omitempty" yaml:"volume_size_gb,omitempty"`
	MaxRuntimeSeconds int32  `json:"max_runtime_seconds,omitempty" yaml:"max_runtime_seconds,omitempty"`

	Hyperparameters      map[string]string `json:"hyperparameters,omitempty" yaml:"hyperparameters,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty" yaml:"environment_variables,omitempty"`

	// SageMaker extras.
	UseSpotInstances       bool               `json:"use_spot_instances,omitempty" yaml:"use_spot_instances,omitempty"`
	MaxWaitSeconds         int32              `json:"max_wait_seconds,omitempty" yaml:"max_wait_seconds,omitempty"`
	CheckpointS3URI        string             `json:"checkpoint_s3_uri,omitempty" yaml:"checkpoint_s3_uri,omitempty"`
	Tags                   map[string]string  `json:"tags,omitempty" yaml:"tags,omitempty"`
	VPCSecurityGroupIDs    []string           `json:"vpc_security_group_ids,omitempty" yaml:"vpc_security_group_ids,omitempty"`
	VPCSubnets             []string           `json:"vpc_subnets,omitempty" yaml:"vpc_subnets,omitempty"`
	VolumeKMSKeyID         string             `json:"volume_kms_key_id,omitempty" yaml:"volume_kms_key_id,omitempty"`
	OutputKMSKeyID         string             `json:"output_kms_key_id,omitempty" yaml:"output_kms_key_id,omitempty"`
	EnableNetworkIsolation bool               `json:"enable_network_isolation,omitempty" yaml:"enable_network_isolation,omitempty"`
	MetricDefinitions      []MetricDefinition `json:"metric_definitions,omitempty" yaml:"metric_definitions,omitempty"`
	RetryMaxAttempts       int32              `json:"retry_max_attempts,omitempty" yaml:"retry_max_attempts,omitempty"`
	KeepAlivePeriodSeconds int32              `json:"keep_alive_period_seconds,omitempty" yaml:"keep_alive_period_seconds,omitempty"`

	// Resume (set by `sagetrain resume`): the checkpoints the job starts
	// from (a local job's file:// hosts folder, or on SageMaker the
	// checkpoint S3 URI), and the job they came from.
	ResumeFrom     string `json:"resume_from,omitempty" yaml:"resume_from,omitempty"`
	ResumedFromJob string `json:"resumed_from_job,omitempty" yaml:"resumed_from_job,omitempty"`
	// NotifyURLs get this job's events as well as serve's --webhook-url ones.
	NotifyURLs []string `json:"notify_urls,omitempty" yaml:"notify_urls,omitempty"`
}

// MetricDefinition is a SageMaker metric definition: a name and a regex whose
// first group is the value, matched against the trainer's stdout.
type MetricDefinition struct {
	Name  string `json:"name" yaml:"name"`
	Regex string `json:"regex" yaml:"regex"`
}
