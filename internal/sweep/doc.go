// Package sweep runs parameter sweeps: one parent record (store.Sweep) whose
// trials are ordinary jobs, at most MaxParallel of them live at once, ranked
// by an objective read from each trial's metrics.json. All scheduler state is
// in the store, so any process (the CLI that started it, a later `status`,
// `serve`) carries a sweep on after the one following it died.
package sweep
