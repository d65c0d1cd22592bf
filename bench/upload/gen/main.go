package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	n := flag.Int("n", 10000, "number of files")
	minKB := flag.Int("min-kb", 20, "smallest file, KB")
	maxKB := flag.Int("max-kb", 200, "largest file, KB")
	dir := flag.String("dir", "", "output folder (required)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("gen: -dir is required")
	}
	r := rand.New(rand.NewPCG(42, 42))
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	var meta strings.Builder
	meta.WriteString("filename,age_years,subject,expert_label\n")
	var total int64
	for i := range *n {
		target := (*minKB + r.IntN(*maxKB-*minKB+1)) * 1000
		side := int(math.Sqrt(float64(target)))
		img := image.NewGray(image.Rect(0, 0, side, target/side))
		for j := range img.Pix {
			img.Pix[j] = byte(r.Uint32())
		}
		rel := fmt.Sprintf("group%02d/drawing%05d.png", i%50, i)
		p := filepath.Join(*dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		if err := enc.Encode(f, img); err != nil {
			log.Fatal(err)
		}
		st, _ := f.Stat()
		total += st.Size()
		f.Close()
		fmt.Fprintf(&meta, "%s,%d.%d,house,\n", rel, 3+i%14, i%10)
	}
	if err := os.WriteFile(filepath.Join(*dir, "metadata.csv"), []byte(meta.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d files, %.1f MB\n", *n, float64(total)/1e6)
}
