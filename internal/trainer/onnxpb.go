package trainer

import (
	"encoding/binary"
	"math"
)

// A small protocol-buffers writer for the part of the ONNX schema
// (onnx.proto3, IR version 7) that ONNX export needs. Field numbers are the
// schema's; fields are written in field order, so the bytes are
// deterministic.

type pb struct{ b []byte }

func (p *pb) varint(v uint64) {
	p.b = binary.AppendUvarint(p.b, v)
}

func (p *pb) tag(field, wire int) { p.varint(uint64(field<<3 | wire)) }

func (p *pb) int(field int, v int64) {
	p.tag(field, 0)
	p.varint(uint64(v))
}

func (p *pb) bytes(field int, b []byte) {
	p.tag(field, 2)
	p.varint(uint64(len(b)))
	p.b = append(p.b, b...)
}

func (p *pb) str(field int, s string) { p.bytes(field, []byte(s)) }

func (p *pb) msg(field int, m *pb) { p.bytes(field, m.b) }

func (p *pb) float(field int, f float32) {
	p.tag(field, 5)
	p.b = binary.LittleEndian.AppendUint32(p.b, math.Float32bits(f))
}

// ONNX TensorProto.DataType values.
const (
	onnxFloat  = 1
	onnxBool   = 9
	onnxInt64  = 7
	onnxDouble = 11
)

// onnxTensor is a TensorProto: dims(1), data_type(2), name(8), raw_data(9).
func onnxTensor(name string, dtype int, dims []int64, raw []byte) *pb {
	t := &pb{}
	for _, d := range dims {
		t.int(1, d)
	}
	t.int(2, int64(dtype))
	t.str(8, name)
	t.bytes(9, raw)
	return t
}

func rawFloat32(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func rawFloat64(v []float64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

func rawInt64(v []int64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

// onnxAttr is an AttributeProto of type INT (2): name(1), i(3), type(20).
func onnxAttrInt(name string, v int64) *pb {
	a := &pb{}
	a.str(1, name)
	a.int(3, v)
	a.int(20, 2)
	return a
}

// onnxNode is a NodeProto: input(1), output(2), name(3), op_type(4), attribute(5).
func onnxNode(op, name string, in, out []string, attrs ...*pb) *pb {
	n := &pb{}
	for _, s := range in {
		n.str(1, s)
	}
	for _, s := range out {
		n.str(2, s)
	}
	n.str(3, name)
	n.str(4, op)
	for _, a := range attrs {
		n.msg(5, a)
	}
	return n
}

// onnxValueInfo is a ValueInfoProto of a tensor; a dim < 0 is the symbolic "N".
func onnxValueInfo(name string, dtype int, dims []int64) *pb {
	shape := &pb{}
	for _, d := range dims {
		dim := &pb{}
		if d < 0 {
			dim.str(2, "N")
		} else {
			dim.int(1, d)
		}
		shape.msg(1, dim)
	}
	tt := &pb{}
	tt.int(1, int64(dtype))
	tt.msg(2, shape)
	typ := &pb{}
	typ.msg(1, tt)
	v := &pb{}
	v.str(1, name)
	v.msg(2, typ)
	return v
}
