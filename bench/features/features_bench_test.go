package featuresbench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// benchDir returns a channel of n 256x256 drawings: $FEATURES_BENCH_DIR if
// set (run.sh shares it with the peer), else a fresh temporary one.
func benchDir(b *testing.B, n int) string {
	if d := os.Getenv("FEATURES_BENCH_DIR"); d != "" {
		return filepath.Join(d, "training")
	}
	dir := b.TempDir()
	if _, err := sampledata.Generate(dir, sampledata.Options{Train: n, Test: 1, Size: 256, Seed: 5}); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, "training")
}

func BenchmarkLoadChannel256(b *testing.B) {
	n := 400
	if s := os.Getenv("FEATURES_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := benchDir(b, n)
	images := 0
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		set, err := features.LoadChannel(context.Background(), dir, features.Options{})
		if err != nil {
			b.Fatal(err)
		}
		images += len(set.Samples)
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
	// CPU time per image does not depend on what else the machine runs:
	// 2 dedicated cores would do 2000/cpu-ms images per second
	b.ReportMetric(cpu.Seconds()*1000/float64(images), "cpu-ms/image")
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDescriptorOnly256 leaves out file reading and PNG decoding.
func BenchmarkDescriptorOnly256(b *testing.B) {
	dir := benchDir(b, 50)
	ch, err := data.Scan(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	img, err := data.DecodeImage(filepath.Join(dir, ch.Items[0].Path))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		features.Vector(img, "house")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuTime()-c0).Seconds()*1000/float64(b.N), "cpu-ms/image")
}

// BenchmarkPNGDecode256 is decoding alone, the floor under LoadChannel.
func BenchmarkPNGDecode256(b *testing.B) {
	dir := benchDir(b, 50)
	ch, err := data.Scan(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ch.Items[0].Path))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := data.DecodeImageBytes(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuTime()-c0).Seconds()*1000/float64(b.N), "cpu-ms/image")
}
