package data

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Matrix is a row-major float32 matrix read from a .npy file.
type Matrix struct {
	Rows, Cols int
	Data       []float32 // Rows*Cols values, row-major
}

// Row returns row i (a view into Data).
func (m *Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// maxNPYValues bounds an array's size (2^31 float32 values = 8 GiB).
const maxNPYValues = 1 << 31

var (
	reDescr   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	reFortran = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	reShape   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a NumPy .npy array (format versions 1, 2 and 3) of shape
// [rows, cols] and dtype float32 (float64 is accepted and narrowed), little-
// or big-endian, C or Fortran order. Anything else is an error that says
// what the file holds.
func ReadNPY(r io.Reader) (*Matrix, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("not a NumPy .npy file: too short")
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not a NumPy .npy file: bad magic")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d", pre[6])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf(".npy header of %d bytes is too large", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("truncated .npy header")
	}
	header := string(hb)
	m := reDescr.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf(".npy header has no descr: %q", trimForMsg(header))
	}
	descr := m[1]
	var order binary.ByteOrder = binary.LittleEndian
	size := 0
	switch descr {
	case "<f4", "f4", "=f4":
		size = 4
	case ">f4":
		size, order = 4, binary.BigEndian
	case "<f8", "f8", "=f8":
		size = 8
	case ">f8":
		size, order = 8, binary.BigEndian
	default:
		return nil, fmt.Errorf("dtype %q is not float32", descr)
	}
	fortran := false
	if fm := reFortran.FindStringSubmatch(header); fm != nil {
		fortran = fm[1] == "True"
	}
	sm := reShape.FindStringSubmatch(header)
	if sm == nil {
		return nil, fmt.Errorf(".npy header has no shape: %q", trimForMsg(header))
	}
	var dims []int
	for _, p := range strings.Split(sm[1], ",") {
		p = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "L"))
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad .npy shape (%s)", sm[1])
		}
		dims = append(dims, n)
	}
	if len(dims) != 2 {
		return nil, fmt.Errorf("shape (%s) is not 2-D [rows, dim]", strings.TrimSpace(sm[1]))
	}
	rows, cols := dims[0], dims[1]
	if cols == 0 {
		return nil, fmt.Errorf("shape (%d, 0) has no columns", rows)
	}
	if rows > maxNPYValues/cols {
		return nil, fmt.Errorf("shape (%d, %d) is too large", rows, cols)
	}
	n := rows * cols
	out := &Matrix{Rows: rows, Cols: cols, Data: make([]float32, 0, min(n, 1<<20))}
	buf := make([]byte, 1<<16)
	for len(out.Data) < n {
		want := min((n-len(out.Data))*size, len(buf))
		if _, err := io.ReadFull(br, buf[:want]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("truncated data: shape (%d, %d) needs %d values", rows, cols, n)
			}
			return nil, err
		}
		for o := 0; o < want; o += size {
			if size == 4 {
				out.Data = append(out.Data, math.Float32frombits(order.Uint32(buf[o:])))
			} else {
				out.Data = append(out.Data, float32(math.Float64frombits(order.Uint64(buf[o:]))))
			}
		}
	}
	if fortran && rows > 1 && cols > 1 {
		t := make([]float32, n)
		for c := 0; c < cols; c++ {
			for r := 0; r < rows; r++ {
				t[r*cols+c] = out.Data[c*rows+r]
			}
		}
		out.Data = t
	}
	return out, nil
}

// WriteNPY writes m as a version 1.0 little-endian float32 .npy file.
func WriteNPY(w io.Writer, m *Matrix) error {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", m.Rows, m.Cols)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range m.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

func trimForMsg(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
