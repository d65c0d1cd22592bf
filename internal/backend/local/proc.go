package local

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat returns a process's state letter and start time (clock ticks since
// boot) from /proc/<pid>/stat. The start time tells a live runner from an
// unrelated process that got its pid later.
func procStat(pid int) (state byte, startTicks uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(s[i+2:]) // fields[0] is field 3 (state)
	if len(fields) < 20 {
		return 0, 0, errors.New("short /proc stat")
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64) // field 22
	if err != nil {
		return 0, 0, err
	}
	return fields[0][0], ticks, nil
}

// alive reports whether the process recorded in p still runs (a zombie,
// waiting to be reaped, counts as gone).
func (p pidFile) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	state, ticks, err := procStat(p.Pid)
	if err != nil {
		return false
	}
	return ticks == p.StartTicks && state != 'Z' && state != 'X'
}

// signal sends sig to the runner if it is still the recorded process.
func (p pidFile) signal(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	err := syscall.Kill(p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// signalGroup sends sig to the runner's whole process group (the runner is a
// session leader, so its pgid is its pid), reaching trainers too.
func (p pidFile) signalGroup(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
