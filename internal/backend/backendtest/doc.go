// Package backendtest is the contract every backend.Backend honours, as a
// test suite (Run) that the local backend and the SageMaker backend (against
// the emulator) both pass, and Counter, the wrapper tests use to count how
// often a backend was asked to create a job or fetch its artifacts.
package backendtest
