//go:build race

package evidence

// raceEnabled stretches time bounds: the race detector slows code 5–10×.
const raceEnabled = true
