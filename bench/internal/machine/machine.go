package machine

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPUModel is /proc/cpuinfo's first "model name", or "unknown CPU".
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// Load is the 1, 5 and 15 minute load averages of /proc/loadavg, and the first.
func Load() (string, float64) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown", -1
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown", -1
	}
	one, _ := strconv.ParseFloat(f[0], 64)
	return strings.Join(f[:3], " "), one
}

// Line is one line for a benchmark's output: when ("before", "after"), the
// cores, the CPU model and the load, with a warning above load 1 per 2 cores.
func Line(when string) string {
	l, one := Load()
	s := fmt.Sprintf("machine %s: %d cores, %s, load average %s", when, runtime.NumCPU(), CPUModel(), l)
	if one > float64(runtime.NumCPU())/2 {
		s += " (NOT a quiet machine: load above 1 on 2 cores)"
	}
	return s
}
