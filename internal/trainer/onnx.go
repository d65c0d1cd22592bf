package trainer

import (
	"encoding/json"
	"fmt"
)

// ONNXOpset is the ONNX operator set the export uses (default domain).
const ONNXOpset = 13

// ONNX writes the model as one ONNX graph (IR version 7, opset 13) that
// does what ScoreVector does for a batch of N drawings:
//
//	inputs:  features float32 [N, D] (raw, not standardised), age float32 [N] (years)
//	outputs: reconstruction_error, raw_score, threshold, score (float64 [N, 1]),
//	         knn_distance (float64 [N, 1], ensemble only),
//	         group_index int64 [N, 1] (index into the model's groups)
//
// The features are standardised (and clipped) with the model's
// normalisation, every group's autoencoder reconstructs them (Gemm + Relu,
// the last layer plain), the error is the mean squared difference (in
// float64, as the Go scorer computes it); for the ensemble every group's
// kNN distance to its reference rows is combined with it (onnxensemble.go,
// from the group's scorer). The group of each age is chosen as ScoreVector
// chooses it: the group containing floor(age), else the nearest (the
// younger on a tie). score = raw_score / threshold (0 without a threshold;
// format 1: error / threshold). docs/models.md describes it.
func (m *Model) ONNX() ([]byte, error) {
	man := m.Manifest
	D := int64(man.Architecture.Input)
	G := len(man.Groups)
	if G == 0 {
		return nil, fmt.Errorf("model has no groups")
	}
	g := &pb{}
	var nodes, inits []*pb
	node := func(op string, in []string, out string, attrs ...*pb) string {
		nodes = append(nodes, onnxNode(op, fmt.Sprintf("n%d_%s", len(nodes), op), in, []string{out}, attrs...))
		return out
	}
	nodeN := func(op string, in, out []string, attrs ...*pb) {
		nodes = append(nodes, onnxNode(op, fmt.Sprintf("n%d_%s", len(nodes), op), in, out, attrs...))
	}
	init := func(t *pb) { inits = append(inits, t) }

	// Group choice, in float64 so the 1e-9 tie-break of ScoreVector survives.
	gmin, gmax1, gidx, thr := make([]float64, G), make([]float64, G), make([]int64, G), make([]float64, G)
	for i, gr := range man.Groups {
		gmin[i], gmax1[i], gidx[i], thr[i] = float64(gr.Min), float64(gr.Max+1), int64(i), gr.Threshold
	}
	init(onnxTensor("group_min", onnxDouble, []int64{1, int64(G)}, rawFloat64(gmin)))
	init(onnxTensor("group_max_plus_one", onnxDouble, []int64{1, int64(G)}, rawFloat64(gmax1)))
	init(onnxTensor("group_ids", onnxInt64, []int64{1, int64(G)}, rawInt64(gidx)))
	init(onnxTensor("group_thresholds", onnxDouble, []int64{int64(G), 1}, rawFloat64(thr)))
	init(onnxTensor("tie_epsilon", onnxDouble, nil, rawFloat64([]float64{1e-9})))
	init(onnxTensor("column_shape", onnxInt64, []int64{2}, rawInt64([]int64{-1, 1})))
	ones := make([]float64, G)
	for i := range ones {
		ones[i] = 1
	}
	init(onnxTensor("group_ones", onnxDouble, []int64{int64(G), 1}, rawFloat64(ones)))
	invD := make([]float64, D)
	for i := range invD {
		invD[i] = 1 / float64(D)
	}
	init(onnxTensor("feature_mean_weights", onnxDouble, []int64{D, 1}, rawFloat64(invD)))

	age := node("Cast", []string{"age"}, "age_f64", onnxAttrInt("to", onnxDouble))
	age = node("Reshape", []string{age, "column_shape"}, "age_col")
	below := node("Relu", []string{node("Sub", []string{"group_min", age}, "below_raw")}, "below")
	above := node("Relu", []string{node("Sub", []string{age, "group_max_plus_one"}, "above_raw")}, "above")
	past := node("Cast", []string{node("GreaterOrEqual", []string{age, "group_max_plus_one"}, "past_bool")}, "past", onnxAttrInt("to", onnxDouble))
	dist := node("Add", []string{node("Add", []string{below, above}, "dist_raw"), node("Mul", []string{past, "tie_epsilon"}, "tie")}, "distance")
	gi := node("ArgMin", []string{dist}, "group_index", onnxAttrInt("axis", 1), onnxAttrInt("keepdims", 1))
	mask := node("Cast", []string{node("Equal", []string{gi, "group_ids"}, "mask_bool")}, "mask", onnxAttrInt("to", onnxDouble))

	// Standardisation (clipped as Normalization.apply clips), then per group
	// the autoencoder's error and, for the ensemble, the kNN distance.
	init(onnxTensor("norm_mean", onnxFloat, []int64{D}, rawFloat32(man.Normalization.Mean)))
	init(onnxTensor("norm_std", onnxFloat, []int64{D}, rawFloat32(man.Normalization.Std)))
	z := node("Div", []string{node("Sub", []string{"features", "norm_mean"}, "centred"), "norm_std"}, "standardised_unclipped")
	if c := float32(man.Normalization.ClipZ); c > 0 {
		init(onnxTensor("clip_low", onnxFloat, nil, rawFloat32([]float32{-c})))
		init(onnxTensor("clip_high", onnxFloat, nil, rawFloat32([]float32{c})))
		z = node("Clip", []string{z, "clip_low", "clip_high"}, "standardised")
	}
	parts, err := onnxScoreParts(m)
	if err != nil {
		return nil, err
	}
	var errsOut, knnOut, rawOut []string
	for i, gr := range man.Groups {
		net := m.nets[i]
		h := z
		for li, l := range net.Layers {
			w := fmt.Sprintf("g%d_l%d_weight", i, li)
			b := fmt.Sprintf("g%d_l%d_bias", i, li)
			init(onnxTensor(w, onnxFloat, []int64{int64(l.Out), int64(l.In)}, rawFloat32(l.W)))
			init(onnxTensor(b, onnxFloat, []int64{int64(l.Out)}, rawFloat32(l.B)))
			h = node("Gemm", []string{h, w, b}, fmt.Sprintf("g%d_l%d_out", i, li), onnxAttrInt("transB", 1))
			if li < len(net.Layers)-1 {
				h = node("Relu", []string{h}, fmt.Sprintf("g%d_l%d_relu", i, li))
			}
		}
		diff := node("Cast", []string{node("Sub", []string{h, z}, fmt.Sprintf("g%d_diff32", i))}, fmt.Sprintf("g%d_diff", i), onnxAttrInt("to", onnxDouble))
		sq := node("Mul", []string{diff, diff}, fmt.Sprintf("g%d_sq", i))
		ae := node("MatMul", []string{sq, "feature_mean_weights"}, fmt.Sprintf("g%d_error_%s", i, gr.Name))
		errsOut = append(errsOut, ae)
		p := parts[i]
		if p.knn == nil {
			rawOut = append(rawOut, ae)
			continue
		}
		knn := onnxKNN(node, nodeN, init, fmt.Sprintf("g%d_", i), z, age, p.knn)
		knnOut = append(knnOut, knn)
		// raw = ae_weight * ae / ae_scale + knn_weight * knn / knn_scale
		term := func(name, v string, weight, scale float64) string {
			pre := fmt.Sprintf("g%d_%s_", i, name)
			init(onnxTensor(pre+"weight", onnxDouble, nil, rawFloat64([]float64{weight})))
			init(onnxTensor(pre+"scale", onnxDouble, nil, rawFloat64([]float64{scale})))
			return node("Div", []string{node("Mul", []string{v, pre + "weight"}, pre+"weighted"), pre + "scale"}, pre+"term")
		}
		rawOut = append(rawOut, node("Add", []string{term("ae", ae, p.aeWeight, p.aeScale), term("knn", knn, p.knnWeight, p.knnScale)}, fmt.Sprintf("g%d_raw", i)))
	}
	// pick keeps, of per-group columns [N, 1], the column of each row's group.
	pick := func(cols []string, name string) string {
		all := cols[0]
		if len(cols) > 1 {
			all = node("Concat", cols, name+"_groups", onnxAttrInt("axis", 1))
		}
		return node("MatMul", []string{node("Mul", []string{all, mask}, name+"_masked"), "group_ones"}, name)
	}
	e := pick(errsOut, "reconstruction_error")
	raw := pick(rawOut, "raw_score")
	if len(knnOut) > 0 {
		pick(knnOut, "knn_distance")
	}
	t := node("MatMul", []string{mask, "group_thresholds"}, "threshold")
	if m.scorers == nil {
		// Format 1: error / threshold, whatever the threshold.
		node("Div", []string{e, t}, "score")
	} else {
		// Format 2: raw / threshold, 0 where the group has no threshold (<= 0).
		safe, has := make([]float64, G), make([]float64, G)
		for i, gr := range man.Groups {
			safe[i], has[i] = 1, 0
			if gr.Threshold > 0 {
				safe[i], has[i] = gr.Threshold, 1
			}
		}
		init(onnxTensor("group_divisors", onnxDouble, []int64{int64(G), 1}, rawFloat64(safe)))
		init(onnxTensor("group_has_threshold", onnxDouble, []int64{int64(G), 1}, rawFloat64(has)))
		div := node("MatMul", []string{mask, "group_divisors"}, "score_divisor")
		has1 := node("MatMul", []string{mask, "group_has_threshold"}, "score_has_threshold")
		node("Mul", []string{node("Div", []string{raw, div}, "score_unmasked"), has1}, "score")
	}

	for _, n := range nodes {
		g.msg(1, n)
	}
	g.str(2, "sagetrain_drawing_anomaly")
	for _, t := range inits {
		g.msg(5, t)
	}
	g.str(10, "per-age-group autoencoders of a sagetrain model; see docs/models.md")
	g.msg(11, onnxValueInfo("features", onnxFloat, []int64{-1, D}))
	g.msg(11, onnxValueInfo("age", onnxFloat, []int64{-1}))
	g.msg(12, onnxValueInfo("reconstruction_error", onnxDouble, []int64{-1, 1}))
	g.msg(12, onnxValueInfo("threshold", onnxDouble, []int64{-1, 1}))
	g.msg(12, onnxValueInfo("score", onnxDouble, []int64{-1, 1}))
	g.msg(12, onnxValueInfo("group_index", onnxInt64, []int64{-1, 1}))
	g.msg(12, onnxValueInfo("raw_score", onnxDouble, []int64{-1, 1}))
	if countKNN(parts) > 0 {
		g.msg(12, onnxValueInfo("knn_distance", onnxDouble, []int64{-1, 1}))
	}

	groups := make([]map[string]any, G)
	for i, gr := range man.Groups {
		groups[i] = map[string]any{"name": gr.Name, "age_min": gr.Min, "age_max": gr.Max, "threshold": gr.Threshold, "threshold_source": gr.ThresholdSource}
	}
	gj, _ := json.Marshal(groups)
	fj, _ := json.Marshal(man.Features)

	mp := &pb{}
	mp.int(1, 7) // ir_version
	mp.str(2, "sagetrain")
	mp.str(3, fmt.Sprintf("%s/%d", ModelFormat, FormatVersion))
	mp.int(5, int64(FormatVersion))
	mp.str(6, man.ScoreDefinition)
	mp.msg(7, g)
	op := &pb{}
	op.str(1, "")
	op.int(2, ONNXOpset)
	mp.msg(8, op)
	for _, kv := range [][2]string{{"groups", string(gj)}, {"features", string(fj)}, {"weights_sha256", man.WeightsSHA256}} {
		e := &pb{}
		e.str(1, kv[0])
		e.str(2, kv[1])
		mp.msg(14, e)
	}
	return mp.b, nil
}
