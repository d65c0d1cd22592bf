package sampledata

import (
	"image"
	"math"
	"math/rand/v2"
)

// Subjects drawn by the generator, with the metadata subject they are
// recorded under (suns are "other" in the subject table).
var subjects = []struct{ kind, subject string }{
	{"house", "house"}, {"person", "person"}, {"tree", "tree"}, {"sun", "other"},
}

// Anomaly kinds and their labels.
const (
	anomalyNone       = ""
	anomalyMissing    = "missing_parts" // concern
	anomalyBroken     = "broken_parts"  // concern
	anomalyScribble   = "scribble"      // severe
	anomalyFragmented = "fragmented"    // severe
)

func labelOf(anomaly string) string {
	switch anomaly {
	case anomalyMissing, anomalyBroken:
		return "concern"
	case anomalyScribble, anomalyFragmented:
		return "severe"
	}
	return "normal"
}

// crayons are the colours a young child picks at random.
var crayons = [][3]float32{
	{0.1, 0.1, 0.1}, {0.85, 0.1, 0.1}, {0.1, 0.3, 0.85}, {0.1, 0.6, 0.2},
	{0.95, 0.75, 0.05}, {0.55, 0.3, 0.1}, {0.6, 0.1, 0.7}, {0.95, 0.45, 0.05},
}

// part is one piece of a subject, drawn in the subject's own 0..1 box.
type part struct {
	name   string
	major  bool       // structural: what "missing parts" removes
	colour [3]float32 // the colour an older child would use
	draw   func(pn *pen)
}

// drawing renders one drawing of kind by a child of age, with an anomaly
// (or none), on an n x n page.
func drawing(rng *rand.Rand, n int, kind string, age float64, anomaly string) image.Image {
	skill := math.Max(0, math.Min(1, (age-2)/16))
	g := 1 - rng.Float64()*0.06 // paper: white to light grey
	pp := newPaper(n, [3]float32{float32(g), float32(g), float32(g - rng.Float64()*0.03)})
	pn := &pen{p: pp, rng: rng, width: 0.026 - 0.012*skill + rng.Float64()*0.004,
		wobble: 0.011*(1-skill) + 0.0025, alpha: float32(0.75 + 0.25*rng.Float64())}

	// where the drawing sits on the page: younger children place it less tidily
	cx := 0.5 + (rng.Float64()-0.5)*(0.2-0.1*skill)
	cy := 0.5 + (rng.Float64()-0.5)*(0.2-0.1*skill)
	sc := 0.72 + rng.Float64()*0.2
	rot := (rng.Float64() - 0.5) * 0.2
	cr, sr := math.Cos(rot), math.Sin(rot)
	page := func(q pt) pt {
		x, y := (q.x-0.5)*sc, (q.y-0.5)*sc
		return pt{cx + x*cr - y*sr, cy + x*sr + y*cr}
	}

	parts := subjectParts(rng, kind, age)
	realistic := rng.Float64() < 0.2+0.8*skill
	scribbleOver := false
	switch anomaly {
	case anomalyMissing:
		parts = dropParts(rng, parts)
	case anomalyScribble:
		if rng.Float64() < 0.5 {
			parts = nil // only the scribble
		} else {
			scribbleOver = true
		}
	}
	for _, p := range parts {
		pn.col = crayons[rng.IntN(len(crayons))]
		if realistic {
			pn.col = p.colour
		}
		tf := page
		if anomaly == anomalyBroken && (p.major || rng.Float64() < 0.5) {
			// the part drifts off and turns: pieces no longer join
			dx, dy := (rng.Float64()-0.5)*0.5, (rng.Float64()-0.5)*0.5
			a := (rng.Float64() - 0.5) * 2.0
			ca, sa := math.Cos(a), math.Sin(a)
			tf = func(q pt) pt {
				x, y := q.x-0.5, q.y-0.5
				return page(pt{0.5 + x*ca - y*sa + dx, 0.5 + x*sa + y*ca + dy})
			}
		}
		pn.tf = tf
		pn.fragment = anomaly == anomalyFragmented
		p.draw(pn)
	}
	pn.tf, pn.fragment = nil, false
	if anomaly == anomalyScribble || scribbleOver {
		scribble(rng, pn)
	}
	return pp.image()
}

// dropParts removes one or two structural parts and maybe a detail.
func dropParts(rng *rand.Rand, parts []part) []part {
	var major []int
	for i, p := range parts {
		if p.major {
			major = append(major, i)
		}
	}
	drop := map[int]bool{}
	k := 1
	if len(major) > 2 && rng.Float64() < 0.5 {
		k = 2
	}
	for _, j := range rng.Perm(len(major))[:min(k, len(major))] {
		drop[major[j]] = true
	}
	if len(parts) > 0 && rng.Float64() < 0.5 {
		drop[rng.IntN(len(parts))] = true
	}
	var out []part
	for i, p := range parts {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

// scribble is a dense, chaotic, heavy scribble: loops that wander over
// much of the page, drawn hard.
func scribble(rng *rand.Rand, pn *pen) {
	pn.col = crayons[rng.IntN(len(crayons))]
	pn.alpha = 1
	w := pn.wobble
	pn.wobble = 0.003
	c := pt{0.35 + rng.Float64()*0.3, 0.35 + rng.Float64()*0.3}
	p := c
	heading, turn := rng.Float64()*2*math.Pi, 0.0
	speed := 0.025 + rng.Float64()*0.02
	pts := []pt{p}
	for i := 0; i < 220+rng.IntN(160); i++ {
		turn = 0.85*turn + rng.NormFloat64()*0.25
		heading += turn + 0.35
		// a pull back towards the middle keeps it on the page
		p = pt{p.x + speed*math.Cos(heading) + (c.x-p.x)*0.04, p.y + speed*math.Sin(heading) + (c.y-p.y)*0.04}
		p = pt{math.Max(0.04, math.Min(0.96, p.x)), math.Max(0.04, math.Min(0.96, p.y))}
		if rng.Float64() < 0.02 {
			c = pt{0.25 + rng.Float64()*0.5, 0.25 + rng.Float64()*0.5}
		}
		pts = append(pts, p)
	}
	pn.line(pts...)
	pn.wobble = w
}

// chance is true with a probability that rises with age around the age at
// which children usually add a detail.
func chance(rng *rand.Rand, age, typical float64) bool {
	return 1/(1+math.Exp(-(age-typical)*1.5)) > rng.Float64()
}

func rect(pn *pen, x0, y0, x1, y1 float64) {
	pn.line(pt{x0, y0}, pt{x1, y0}, pt{x1, y1}, pt{x0, y1}, pt{x0, y0})
}

var (
	black  = [3]float32{0.1, 0.1, 0.1}
	red    = [3]float32{0.85, 0.12, 0.1}
	brown  = [3]float32{0.5, 0.28, 0.1}
	green  = [3]float32{0.15, 0.6, 0.2}
	yellow = [3]float32{0.95, 0.78, 0.05}
	blue   = [3]float32{0.15, 0.35, 0.85}
	grey   = [3]float32{0.5, 0.5, 0.55}
)

func subjectParts(rng *rand.Rand, kind string, age float64) []part {
	var ps []part
	add := func(name string, major bool, col [3]float32, f func(pn *pen)) {
		ps = append(ps, part{name, major, col, f})
	}
	j := func(s float64) float64 { return (rng.Float64() - 0.5) * s } // proportions vary
	switch kind {
	case "house":
		wl, wr, wt, wb := 0.2+j(0.08), 0.8+j(0.08), 0.45+j(0.06), 0.9
		add("walls", true, black, func(pn *pen) { rect(pn, wl, wt, wr, wb) })
		if chance(rng, age, 3.5) {
			peak := 0.15 + j(0.08)
			add("roof", true, red, func(pn *pen) { pn.line(pt{wl - 0.05, wt}, pt{(wl + wr) / 2, peak}, pt{wr + 0.05, wt}) })
			if chance(rng, age, 11) {
				add("roof colour", false, red, func(pn *pen) {
					pn.hatch([]pt{{wl - 0.03, wt - 0.01}, {(wl + wr) / 2, peak + 0.03}, {wr + 0.03, wt - 0.01}}, 0.03)
				})
			}
			if chance(rng, age, 7) {
				add("chimney", false, brown, func(pn *pen) {
					pn.line(pt{wr - 0.15, wt - 0.12}, pt{wr - 0.15, wt - 0.25}, pt{wr - 0.07, wt - 0.25}, pt{wr - 0.07, wt - 0.07})
				})
				if chance(rng, age, 10) {
					add("smoke", false, grey, func(pn *pen) {
						for k := 0; k < 3; k++ {
							pn.ellipse(pt{wr - 0.1 + 0.04*float64(k), wt - 0.3 - 0.05*float64(k)}, 0.025, 0.018, 0)
						}
					})
				}
			}
		}
		if chance(rng, age, 4.5) {
			dw := 0.07 + j(0.03)
			dc := (wl+wr)/2 + j(0.15)
			add("door", true, brown, func(pn *pen) {
				pn.line(pt{dc - dw, wb}, pt{dc - dw, wb - 0.22}, pt{dc + dw, wb - 0.22}, pt{dc + dw, wb})
			})
			if chance(rng, age, 9) {
				add("door knob", false, black, func(pn *pen) { pn.ellipse(pt{dc + dw*0.6, wb - 0.1}, 0.008, 0.008, 0) })
			}
		}
		if chance(rng, age, 5.5) {
			cross := chance(rng, age, 8)
			for _, x := range []float64{wl + 0.06, wr - 0.17} {
				add("window", false, blue, func(pn *pen) {
					rect(pn, x, wt+0.07, x+0.11, wt+0.18)
					if cross {
						pn.line(pt{x + 0.055, wt + 0.07}, pt{x + 0.055, wt + 0.18})
						pn.line(pt{x, wt + 0.125}, pt{x + 0.11, wt + 0.125})
					}
				})
			}
		}
		if chance(rng, age, 8) {
			add("ground", false, green, func(pn *pen) { pn.line(pt{0.02, 0.92}, pt{0.98, 0.92}) })
		}
	case "person":
		hr := 0.09 + j(0.03)
		tadpole := age < 4.5 && rng.Float64() < 0.8
		add("head", true, black, func(pn *pen) { pn.ellipse(pt{0.5, 0.2}, hr, hr*1.1, 0) })
		if chance(rng, age, 3.5) {
			add("eyes", false, black, func(pn *pen) {
				pn.ellipse(pt{0.5 - hr*0.4, 0.18}, 0.008, 0.008, 0)
				pn.ellipse(pt{0.5 + hr*0.4, 0.18}, 0.008, 0.008, 0)
			})
		}
		if chance(rng, age, 4) {
			add("mouth", false, red, func(pn *pen) {
				pn.line(pt{0.5 - hr*0.4, 0.23}, pt{0.5, 0.255}, pt{0.5 + hr*0.4, 0.23})
			})
		}
		if tadpole {
			add("arms", true, black, func(pn *pen) {
				pn.line(pt{0.5 - hr, 0.22}, pt{0.22, 0.32 + j(0.1)})
				pn.line(pt{0.5 + hr, 0.22}, pt{0.78, 0.32 + j(0.1)})
			})
			add("legs", true, black, func(pn *pen) {
				pn.line(pt{0.46, 0.2 + hr}, pt{0.4, 0.6})
				pn.line(pt{0.54, 0.2 + hr}, pt{0.6, 0.6})
			})
			break
		}
		top, hip := 0.2+hr*1.1, 0.58+j(0.06)
		dressed := chance(rng, age, 7)
		if dressed {
			bw := 0.1 + j(0.04)
			add("body", true, blue, func(pn *pen) {
				pn.line(pt{0.5 - bw*0.8, top + 0.03}, pt{0.5 + bw*0.8, top + 0.03}, pt{0.5 + bw, hip}, pt{0.5 - bw, hip}, pt{0.5 - bw*0.8, top + 0.03})
			})
			if chance(rng, age, 10) {
				add("body colour", false, blue, func(pn *pen) {
					pn.hatch([]pt{{0.5 - bw*0.75, top + 0.05}, {0.5 + bw*0.75, top + 0.05}, {0.5 + bw*0.95, hip - 0.01}, {0.5 - bw*0.95, hip - 0.01}}, 0.025)
				})
			}
		} else {
			add("body", true, black, func(pn *pen) { pn.line(pt{0.5, top}, pt{0.5, hip}) })
		}
		if chance(rng, age, 11) {
			add("neck", false, black, func(pn *pen) { pn.line(pt{0.5, top - 0.01}, pt{0.5, top + 0.03}) })
		}
		armY := top + 0.06
		lh, rh := pt{0.2 + j(0.08), armY + 0.15 + j(0.15)}, pt{0.8 + j(0.08), armY + 0.15 + j(0.15)}
		add("arms", true, black, func(pn *pen) {
			pn.line(pt{0.45, armY}, lh)
			pn.line(pt{0.55, armY}, rh)
		})
		if chance(rng, age, 9) {
			add("hands", false, black, func(pn *pen) {
				for _, h := range []pt{lh, rh} {
					for k := -1; k <= 1; k++ {
						pn.line(h, pt{h.x + 0.03*float64(k), h.y + 0.035})
					}
				}
			})
		}
		lf, rf := pt{0.4 + j(0.06), 0.92}, pt{0.6 + j(0.06), 0.92}
		add("legs", true, black, func(pn *pen) {
			pn.line(pt{0.47, hip}, lf)
			pn.line(pt{0.53, hip}, rf)
		})
		if chance(rng, age, 8) {
			add("feet", false, brown, func(pn *pen) {
				pn.line(lf, pt{lf.x - 0.06, lf.y})
				pn.line(rf, pt{rf.x + 0.06, rf.y})
			})
		}
		if chance(rng, age, 7) {
			add("hair", false, brown, func(pn *pen) {
				for k := -3; k <= 3; k++ {
					x := 0.5 + float64(k)*hr*0.28
					pn.line(pt{x, 0.2 - hr*0.9}, pt{x + j(0.02), 0.2 - hr*1.35})
				}
			})
		}
	case "tree":
		cw, ch := 0.28+j(0.08), 0.24+j(0.06)
		crownY := 0.36 + j(0.05)
		if age < 4.5 && rng.Float64() < 0.7 {
			add("trunk", true, brown, func(pn *pen) { pn.line(pt{0.5, crownY + ch*0.8}, pt{0.5, 0.92}) })
		} else {
			tw := 0.05 + j(0.03)
			add("trunk", true, brown, func(pn *pen) {
				pn.line(pt{0.5 - tw, crownY + ch*0.85}, pt{0.5 - tw, 0.92}, pt{0.5 + tw, 0.92}, pt{0.5 + tw, crownY + ch*0.85})
			})
		}
		add("crown", true, green, func(pn *pen) { pn.ellipse(pt{0.5, crownY}, cw, ch, 0) })
		if chance(rng, age, 7) {
			add("branches", false, brown, func(pn *pen) {
				pn.line(pt{0.5, crownY + ch*0.7}, pt{0.5, crownY - ch*0.3})
				pn.line(pt{0.5, crownY + ch*0.3}, pt{0.5 - cw*0.5, crownY - ch*0.2})
				pn.line(pt{0.5, crownY + ch*0.2}, pt{0.5 + cw*0.5, crownY - ch*0.3})
			})
		}
		if chance(rng, age, 6) {
			k := 3 + rng.IntN(4)
			add("apples", false, red, func(pn *pen) {
				for i := 0; i < k; i++ {
					a := rng.Float64() * 2 * math.Pi
					r := 0.3 + 0.5*rng.Float64()
					pn.ellipse(pt{0.5 + cw*r*math.Cos(a), crownY + ch*r*math.Sin(a)}, 0.018, 0.018, 0)
				}
			})
		}
		if chance(rng, age, 9) {
			add("crown colour", false, green, func(pn *pen) {
				var poly []pt
				for i := 0; i < 16; i++ {
					a := 2 * math.Pi * float64(i) / 16
					poly = append(poly, pt{0.5 + 0.92*cw*math.Cos(a), crownY + 0.92*ch*math.Sin(a)})
				}
				pn.hatch(poly, 0.035)
			})
		}
		if chance(rng, age, 8) {
			add("ground", false, green, func(pn *pen) { pn.line(pt{0.05, 0.93}, pt{0.95, 0.93}) })
		}
	default: // sun
		r := 0.18 + j(0.06)
		add("disc", true, yellow, func(pn *pen) { pn.ellipse(pt{0.5, 0.5}, r, r, 0) })
		if chance(rng, age, 3) {
			k := 5 + int(math.Min(11, (age-2)*0.8)) + rng.IntN(3)
			add("rays", true, yellow, func(pn *pen) {
				off := rng.Float64()
				for i := 0; i < k; i++ {
					a := 2 * math.Pi * (float64(i) + off) / float64(k)
					pn.line(pt{0.5 + (r+0.04)*math.Cos(a), 0.5 + (r+0.04)*math.Sin(a)}, pt{0.5 + (r+0.17)*math.Cos(a), 0.5 + (r+0.17)*math.Sin(a)})
				}
			})
		}
		if chance(rng, age, 6) {
			add("face", false, black, func(pn *pen) {
				pn.ellipse(pt{0.5 - r*0.35, 0.47}, 0.012, 0.012, 0)
				pn.ellipse(pt{0.5 + r*0.35, 0.47}, 0.012, 0.012, 0)
				pn.line(pt{0.5 - r*0.4, 0.56}, pt{0.5, 0.6}, pt{0.5 + r*0.4, 0.56})
			})
		}
		if chance(rng, age, 8) {
			add("disc colour", false, yellow, func(pn *pen) {
				var poly []pt
				for i := 0; i < 16; i++ {
					a := 2 * math.Pi * float64(i) / 16
					poly = append(poly, pt{0.5 + 0.9*r*math.Cos(a), 0.5 + 0.9*r*math.Sin(a)})
				}
				pn.hatch(poly, 0.03)
			})
		}
		if chance(rng, age, 10) {
			cx := 0.15 + rng.Float64()*0.2
			add("cloud", false, blue, func(pn *pen) {
				for k := 0; k < 3; k++ {
					pn.ellipse(pt{cx + 0.06*float64(k), 0.12 + j(0.02)}, 0.05, 0.035, 0)
				}
			})
		}
		if chance(rng, age, 12) {
			add("birds", false, black, func(pn *pen) {
				for k := 0; k < 2+rng.IntN(2); k++ {
					x, y := 0.65+rng.Float64()*0.25, 0.8+rng.Float64()*0.1
					pn.line(pt{x - 0.03, y - 0.02}, pt{x, y}, pt{x + 0.03, y - 0.02})
				}
			})
		}
	}
	return ps
}
