package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: trainerbench gen|throughput|mlroot|fashion [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 10000, "rows")
	dim := fs.Int("dim", 832, "columns")
	epochs := fs.Int("epochs", 2, "epochs to time")
	file := fs.String("data", "", "raw float32 file")
	out := fs.String("out", "", "output file")
	root := fs.String("root", "", "ml-root to create")
	class := fs.Int("class", 0, "fashion: the Fashion-MNIST class (0-9) that is normal")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	_ = fs.Parse(os.Args[2:])
	var err error
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	switch os.Args[1] {
	case "gen":
		err = gen(*out, *n, *dim)
	case "throughput":
		err = throughput(*file, *n, *dim, *epochs)
	case "mlroot":
		err = mlroot(*file, *n, *dim, *root)
	case "fashion":
		err = fashion(*root, *class, 2000, 500)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// gen writes rows that look like standardised features: a few latent factors plus noise.
func gen(path string, n, dim int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	const k = 16
	basis := make([]float32, k*dim)
	for i := range basis {
		basis[i] = float32(rng.NormFloat64() / 4)
	}
	row := make([]float32, dim)
	for i := 0; i < n; i++ {
		for j := range row {
			row[j] = float32(rng.NormFloat64() * 0.3)
		}
		for c := 0; c < k; c++ {
			z := float32(rng.NormFloat64())
			for j := range row {
				row[j] += z * basis[c*dim+j]
			}
		}
		if err := binary.Write(w, binary.LittleEndian, row); err != nil {
			return err
		}
	}
	return w.Flush()
}

func load(path string, n, dim int) (autoencoder.Matrix, error) {
	m := autoencoder.Matrix{Rows: n, Cols: dim, Data: make([]float32, n*dim)}
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	return m, binary.Read(bufio.NewReader(f), binary.LittleEndian, m.Data)
}

func throughput(path string, n, dim, epochs int) error {
	x, err := load(path, n, dim)
	if err != nil {
		return err
	}
	cfg := autoencoder.Config{Hidden: []int{256, 128, 64, 32}, Dropout: 0.1, LR: 1e-3, BatchSize: 32,
		Epochs: epochs, GradClip: 1, LRFactor: 0.5, LRPatience: 5, Patience: 10, MinDelta: 1e-4, Seed: 42}
	cpu0 := cpuSeconds()
	t := time.Now()
	if _, err := autoencoder.Train(context.Background(), cfg, x, autoencoder.Matrix{}, nil, nil); err != nil {
		return err
	}
	dt := time.Since(t).Seconds()
	cpu := cpuSeconds() - cpu0
	sps := float64(n*epochs) / dt
	fl := flopPerSample(dim, cfg.Hidden)
	fmt.Printf("go samples_per_sec=%.1f gflops=%.2f samples_per_cpu_sec=%.1f flop_per_sample=%d cores=%d n=%d epochs=%d\n",
		sps, sps*float64(fl)/1e9, float64(n*epochs)/cpu, fl, runtime.GOMAXPROCS(0), n, epochs)
	return nil
}

// flopPerSample counts the multiply-adds (2 flops each) of the three products per
// layer: forward Z = X·Wᵀ, backward dW = dZᵀ·X and dX = dZ·W (none for the first
// layer). Bias, activation, loss and Adam are left out: they are O(width), not O(width²).
func flopPerSample(dim int, hidden []int) int {
	s := autoencoder.Sizes(dim, hidden)
	f := 0
	for i := 0; i+1 < len(s); i++ {
		mac := s[i] * s[i+1]
		f += 2 * mac * 2 // forward and dW
		if i > 0 {
			f += 2 * mac // dX
		}
	}
	return f
}

func mlroot(path string, n, dim int, root string) error {
	x, err := load(path, n, dim)
	if err != nil {
		return err
	}
	ch := filepath.Join(root, "input", "data", "training")
	if err := os.MkdirAll(ch, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "input", "config"), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(ch, "embeddings.npy"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := data.WriteNPY(w, &data.Matrix{Rows: n, Cols: dim, Data: x.Data}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()
	mf, err := os.Create(filepath.Join(ch, "metadata.csv"))
	if err != nil {
		return err
	}
	mw := bufio.NewWriter(mf)
	fmt.Fprintln(mw, "filename,age_years,subject,expert_label")
	for i := 0; i < n; i++ {
		label := ""
		if i%10 == 9 {
			label = "concern"
		}
		fmt.Fprintf(mw, "d%06d.png,%d.5,house,%s\n", i, 2+i%17, label)
	}
	if err := mw.Flush(); err != nil {
		return err
	}
	return mf.Close()
}

// cpuSeconds is the process's user+system CPU time: samples per CPU second
// say how much work a sample costs even when other processes share the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
