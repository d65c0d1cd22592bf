package spec

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// MaxSpecBytes is the largest spec file read; the biggest real spec is a
// few KiB.
const MaxSpecBytes = 256 << 10

// maxMapEntries bounds every YAML mapping before the spec is decoded: the
// YAML decoder checks keys for duplicates pairwise, so 90,000 keys took
// four minutes. No field of a spec allows more than 100 entries.
const maxMapEntries = 1000

// checkYAMLShape parses b into nodes (linear) and refuses a mapping with
// more entries than any spec field allows, before the decoder sees it.
func checkYAMLShape(b []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	var walk func(*yaml.Node, int) error
	walk = func(n *yaml.Node, depth int) error {
		if depth > 64 {
			return fmt.Errorf("the spec nests deeper than 64 levels")
		}
		if n.Kind == yaml.MappingNode && len(n.Content)/2 > maxMapEntries {
			return fmt.Errorf("a mapping at line %d has %d entries; at most %d (hyperparameters, environment_variables and tags allow far fewer)", n.Line, len(n.Content)/2, maxMapEntries)
		}
		for _, c := range n.Content {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(&n, 0)
}

// LoadContext is Load that gives up when ctx ends (the CLI's ctx ends on
// SIGINT and SIGTERM), so no spec can hold the command past a Ctrl-C.
func LoadContext(ctx context.Context, path string) (*Spec, error) {
	type result struct {
		s   *Spec
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Load(path)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return nil, errs.Configuration("reading job spec "+path+" was interrupted", "run the command again", ctx.Err())
	}
}
