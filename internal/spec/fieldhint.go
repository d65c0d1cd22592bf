package spec

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
)

// Decoders name unknown fields with Go's type names ("field epocs not found
// in type spec.Spec"); fieldHint rewrites that for a user: the field, and
// the nearest real one.
var (
	reYAMLUnknown = regexp.MustCompile(`field (\S+) not found in type [\w.]+`)
	reJSONUnknown = regexp.MustCompile(`json: unknown field "([^"]+)"`)
)

func fieldHint(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	msg = reYAMLUnknown.ReplaceAllStringFunc(msg, func(m string) string {
		changed = true
		return "unknown field " + hintFor(reYAMLUnknown.FindStringSubmatch(m)[1])
	})
	msg = reJSONUnknown.ReplaceAllStringFunc(msg, func(m string) string {
		changed = true
		return "unknown field " + hintFor(reJSONUnknown.FindStringSubmatch(m)[1])
	})
	msg = strings.ReplaceAll(msg, "yaml: unmarshal errors:\n  ", "")
	if !changed {
		return err
	}
	return errors.New(msg)
}

func hintFor(name string) string {
	best, bestD := "", 3
	t := reflect.TypeOf(Spec{})
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if d := editDistance(strings.ToLower(name), tag); d < bestD {
			best, bestD = tag, d
		}
	}
	if best == "" {
		return name + " (the fields are in docs/spec.md)"
	}
	return name + " (did you mean " + best + "?)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
