//go:build race

package trainer

// raceEnabled skips the long quality test under -race (CI runs the trainer without it).
const raceEnabled = true
