// Package cluster runs the trainer on a set of hosts on this machine, each
// host a folder laid out as SageMaker lays out /opt/ml. It is the part of
// running a job that the local backend and the SageMaker emulator share;
// where data comes from, where artifacts go and how the job's status is
// told stay with them.
package cluster
