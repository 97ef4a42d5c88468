package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the run happened, for the report (performance.md: give the machine).
type Machine struct {
	CPUs     int     `json:"cpus"`
	CPUModel string  `json:"cpu_model,omitempty"`
	MemGiB   float64 `json:"mem_gib,omitempty"`
	OS       string  `json:"os"`
	Go       string  `json:"go"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if kb, err := procField("/proc/meminfo", "MemTotal:"); err == nil {
		m.MemGiB = round1(float64(kb) / (1 << 20))
	}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// readRSS returns the resident set size in bytes of pid (0: this process) from
// /proc/<pid>/status VmRSS (Linux only).
func readRSS(pid int) (int64, error) {
	p := "/proc/self/status"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	kb, err := procField(p, "VmRSS:")
	return kb << 10, err
}

// procField reads the "Name:   123 kB" line of a /proc file and returns the number.
func procField(path, name string) (int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, name)
}

func mib(b int64) float64 { return round1(float64(b) / (1 << 20)) }

// CPUUse is how busy the machine was during a measured window, in cores (1.0 = one CPU fully
// busy). Process is this process (with an in-process waba: waba, the load generator and the
// webhook receiver); Server is the --pid process; Other is everything else on the machine, the
// noise to watch for: figures taken while Other is high are not comparable.
type CPUUse struct {
	Process float64 `json:"process"`
	Server  float64 `json:"server,omitempty"`
	Other   float64 `json:"other"`
	Idle    float64 `json:"idle"`
}

// cpuSample is a reading of the jiffy counters; deltas between two give CPUUse.
type cpuSample struct {
	ok           bool
	busy, total  uint64 // machine, all CPUs
	self, server uint64 // utime+stime
	serverOK     bool
}

func readCPU(pid int) cpuSample {
	var s cpuSample
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	v := make([]uint64, 8)
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal
	s.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	s.total = s.busy + v[3] + v[4]
	self, ok := procTimes("/proc/self/stat")
	if !ok {
		return s
	}
	s.self = self
	if pid > 0 {
		s.server, s.serverOK = procTimes("/proc/" + strconv.Itoa(pid) + "/stat")
	}
	s.ok = true
	return s
}

// procTimes returns utime+stime of a /proc/<pid>/stat file, in the clock ticks /proc/stat uses.
func procTimes(path string) (uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 { // state is field 3; utime and stime are fields 14 and 15
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	return u + s, err1 == nil && err2 == nil
}

// cpuUse turns two samples into cores.
func cpuUse(a, b cpuSample, cpus int) *CPUUse {
	if !a.ok || !b.ok || b.total <= a.total {
		return nil
	}
	scale := float64(cpus) / float64(b.total-a.total)
	u := &CPUUse{
		Process: float64(b.self-a.self) * scale,
		Idle:    float64((b.total-b.busy)-(a.total-a.busy)) * scale,
	}
	busy := float64(b.busy-a.busy) * scale
	if a.serverOK && b.serverOK {
		u.Server = float64(b.server-a.server) * scale
	}
	u.Other = max(busy-u.Process-u.Server, 0)
	u.Process, u.Server, u.Other, u.Idle = round2(u.Process), round2(u.Server), round2(u.Other), round2(u.Idle)
	return u
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
