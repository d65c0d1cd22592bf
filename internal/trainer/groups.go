package trainer

import (
	"fmt"
	"math"
	"sort"
)

// AgeGroup is a range of whole years [Min, Max] (on floor(age)) with one model.
type AgeGroup struct {
	Name   string `json:"name"`    // "5-6", or "7" for a single year
	Min    int    `json:"age_min"` // floor(age) >= Min
	Max    int    `json:"age_max"` // floor(age) <= Max
	NTrain int    `json:"n_train"` // normal training samples
}

func groupName(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// Contains reports whether age falls in the group.
func (g AgeGroup) Contains(age float64) bool {
	y := int(math.Floor(age))
	return y >= g.Min && y <= g.Max
}

// distance is how many years age lies outside the group (0 inside).
func (g AgeGroup) distance(age float64) float64 {
	switch {
	case age < float64(g.Min):
		return float64(g.Min) - age
	case age >= float64(g.Max+1):
		return age - float64(g.Max+1) + 1e-9
	}
	return 0
}

// BuildAgeGroups makes one-year bins on floor(age) of the given ages, then
// merges neighbouring bins until each group has at least minSamples, never
// letting a group span more than maxSpan years. It returns the groups that
// reach minSamples and, separately, those that cannot (they are reported and
// not trained; their ages are scored by the nearest trained group).
//
// The merge is a left-to-right sweep (a group takes the next year while it is
// short and the span allows) followed by a pass that folds every short group
// into the smaller neighbour that keeps the span within maxSpan.
func BuildAgeGroups(ages []float64, minSamples, maxSpan int) (ok, short []AgeGroup) {
	counts := map[int]int{}
	for _, a := range ages {
		counts[int(math.Floor(a))]++
	}
	years := make([]int, 0, len(counts))
	for y := range counts {
		years = append(years, y)
	}
	sort.Ints(years)
	var gs []AgeGroup
	for i := 0; i < len(years); {
		g := AgeGroup{Min: years[i], Max: years[i]}
		for i < len(years) && years[i]-g.Min < maxSpan {
			g.Max = years[i]
			g.NTrain += counts[years[i]]
			i++
			if g.NTrain >= minSamples {
				break
			}
		}
		gs = append(gs, g)
	}
	for changed := true; changed; {
		changed = false
		for i := range gs {
			if gs[i].NTrain >= minSamples {
				continue
			}
			best := -1
			for _, j := range []int{i - 1, i + 1} {
				if j < 0 || j >= len(gs) {
					continue
				}
				lo, hi := min(gs[i].Min, gs[j].Min), max(gs[i].Max, gs[j].Max)
				if hi-lo+1 > maxSpan {
					continue
				}
				if best < 0 || gs[j].NTrain < gs[best].NTrain {
					best = j
				}
			}
			if best < 0 {
				continue
			}
			a, b := min(i, best), max(i, best)
			gs[a] = AgeGroup{Min: gs[a].Min, Max: gs[b].Max, NTrain: gs[a].NTrain + gs[b].NTrain}
			gs = append(gs[:b], gs[b+1:]...)
			changed = true
			break
		}
	}
	for _, g := range gs {
		g.Name = groupName(g.Min, g.Max)
		if g.NTrain >= minSamples {
			ok = append(ok, g)
		} else {
			short = append(short, g)
		}
	}
	return ok, short
}

// nearestGroup returns the index of the group containing age, or else of the
// nearest one (ties: the younger group), and whether it contains age.
func nearestGroup(groups []AgeGroup, age float64) (int, bool) {
	best, bestD := -1, math.Inf(1)
	for i, g := range groups {
		d := g.distance(age)
		if d == 0 {
			return i, true
		}
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best, false
}
