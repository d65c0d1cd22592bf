package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/draw"
)

// The time-to-a-model task of issue 15 on real images: Fashion-MNIST (Debian's
// dataset-fashion-mnist), one class against the rest, each 28×28 image drawn
// dark on white and scaled to 112 px. Training: the first 2,000 images of the
// class in the training set; test: the first 500 of the class in the test set
// (normal) and the first 500 of the other classes (labelled concern). Every
// image gets the same age, so the model is one age group.
const fashionDir = "/usr/share/datasets/fashion-mnist"

func readIDX(path string, wantMagic uint32) (dims []int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (install Debian's dataset-fashion-mnist)", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReader(z)
	var magic uint32
	if err := binary.Read(r, binary.BigEndian, &magic); err != nil || magic != wantMagic {
		return nil, nil, fmt.Errorf("%s: not an IDX file of magic %#x", path, wantMagic)
	}
	n := 1
	for i := 0; i < int(magic&0xff); i++ {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, err
		}
		dims = append(dims, int(d))
		n *= int(d)
	}
	data = make([]byte, n)
	_, err = io.ReadFull(r, data)
	return dims, data, err
}

type fashionSet struct {
	images []byte
	labels []byte
}

func loadFashion(prefix string) (fashionSet, error) {
	dims, img, err := readIDX(filepath.Join(fashionDir, prefix+"-images-idx3-ubyte.gz"), 0x803)
	if err != nil {
		return fashionSet{}, err
	}
	_, lab, err := readIDX(filepath.Join(fashionDir, prefix+"-labels-idx1-ubyte.gz"), 0x801)
	if err != nil {
		return fashionSet{}, err
	}
	if len(dims) != 3 || dims[1] != 28 || dims[2] != 28 || len(lab) != dims[0] {
		return fashionSet{}, fmt.Errorf("%s: unexpected shape %v", prefix, dims)
	}
	return fashionSet{img, lab}, nil
}

func writeDrawing(path string, raw []byte, size int) error {
	src := image.NewGray(image.Rect(0, 0, 28, 28))
	for i, v := range raw {
		src.Pix[i] = 255 - v // dark on white, like a drawing
	}
	dst := image.NewGray(image.Rect(0, 0, size, size))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, dst); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fashion lays out an ml-root for class cls: input/data/{training,test}.
func fashion(root string, cls, nTrain, nTest int) error {
	tr, err := loadFashion("train")
	if err != nil {
		return err
	}
	te, err := loadFashion("t10k")
	if err != nil {
		return err
	}
	channel := func(name string, set fashionSet, pick func(label int) (string, bool), n int) error {
		dir := filepath.Join(root, "input", "data", name)
		if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
			return err
		}
		mf, err := os.Create(filepath.Join(dir, "metadata.csv"))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(mf)
		fmt.Fprintln(w, "filename,age_years,subject,expert_label")
		k := 0
		for i := 0; i < len(set.labels) && k < n; i++ {
			label, ok := pick(int(set.labels[i]))
			if !ok {
				continue
			}
			k++
			file := fmt.Sprintf("%s_%05d.png", name, k)
			if err := writeDrawing(filepath.Join(dir, "images", file), set.images[i*784:(i+1)*784], 112); err != nil {
				return err
			}
			fmt.Fprintf(w, "%s,8.0,other,%s\n", file, label)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return mf.Close()
	}
	normal := func(l int) (string, bool) { return "normal", l == cls }
	if err := channel("training", tr, normal, nTrain); err != nil {
		return err
	}
	// Test: the first nTest normals and the first nTest of the other classes.
	normals, others := 0, 0
	if err := channel("test", te, func(l int) (string, bool) {
		switch {
		case l == cls && normals < nTest:
			normals++
			return "normal", true
		case l != cls && others < nTest:
			others++
			return "concern", true
		}
		return "", false
	}, 2*nTest); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "input", "config"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "input", "config", "hyperparameters.json"), []byte("{}\n"), 0o644)
}
