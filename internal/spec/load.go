package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Load reads a spec file: YAML (.yaml, .yml) or JSON (.json, or any file
// whose first non-space byte is '{'). Unknown fields are errors, so a typo
// never silently drops a setting. Relative dataset_folder and metadata_file
// paths are resolved against the spec file's folder.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.Configuration("cannot read job spec "+path, "check the path", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSpecBytes+1))
	if err != nil {
		return nil, errs.Configuration("cannot read job spec "+path, "check the path", err)
	}
	if len(b) > MaxSpecBytes {
		return nil, errs.Configuration(fmt.Sprintf("job spec %s is larger than %d KiB", path, MaxSpecBytes>>10), "a job spec is a few KiB; check you gave the right file", nil)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, errs.Configuration("job spec "+path+" is not valid", "fix the field named in the message (see the spec reference in the README)", fieldHint(err))
	}
	// Absolute, so the stored spec means the same folders to a later
	// command (or the reconciler of serve) run from another directory.
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, errs.Configuration("cannot resolve the folder of job spec "+path, "give an absolute spec path", err)
	}
	s.resolvePaths(base)
	return s, nil
}

// Parse decodes a spec from YAML or JSON bytes, refusing unknown fields.
func Parse(b []byte) (*Spec, error) {
	var s Spec
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		return &s, nil
	}
	if len(b) > MaxSpecBytes {
		return nil, fmt.Errorf("the spec is larger than %d KiB", MaxSpecBytes>>10)
	}
	if err := checkYAMLShape(b); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if err.Error() == "EOF" {
			return nil, fmt.Errorf("the spec is empty")
		}
		return nil, err
	}
	return &s, nil
}

func (s *Spec) resolvePaths(base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
			return p
		}
		return filepath.Join(base, p)
	}
	s.DatasetFolder = abs(s.DatasetFolder)
	for k, v := range s.Channels {
		s.Channels[k] = abs(v)
	}
	if !strings.HasPrefix(s.OutputS3URI, "s3://") && !strings.HasPrefix(s.OutputS3URI, "https://") && s.OutputS3URI != "" {
		s.OutputS3URI = abs(strings.TrimPrefix(s.OutputS3URI, "file://"))
	}
}

// Override sets one field from a "key=value" flag (the spec's own field
// names, e.g. instance_count=2, hyperparameters.epochs=20, tags.team=ml), so
// the CLI can override a spec file without editing it.
func (s *Spec) Override(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok {
		return errs.Configuration(fmt.Sprintf("override %q is not key=value", kv), "write it as --set field=value", nil)
	}
	key = strings.TrimSpace(key)
	if m, sub, ok := strings.Cut(key, "."); ok {
		var target *map[string]string
		switch m {
		case "hyperparameters":
			target = &s.Hyperparameters
		case "environment_variables":
			target = &s.EnvironmentVariables
		case "tags":
			target = &s.Tags
		case "channels":
			target = &s.Channels
		default:
			return errs.Configuration(fmt.Sprintf("override %q: %s is not a map field", kv, m), "use hyperparameters.X, environment_variables.X, tags.X or channels.X", nil)
		}
		if *target == nil {
			*target = map[string]string{}
		}
		(*target)[sub] = val
		return nil
	}
	// Scalar fields go through the YAML decoder so types are checked the same
	// way as in a file.
	var doc bytes.Buffer
	enc := yaml.NewEncoder(&doc)
	if err := enc.Encode(s); err != nil {
		return err
	}
	var m map[string]any
	if err := yaml.Unmarshal(doc.Bytes(), &m); err != nil {
		return err
	}
	if m == nil {
		m = map[string]any{}
	}
	var v any = val
	if n, err := strconv.ParseInt(val, 10, 64); err == nil {
		v = n
	} else if b, err := strconv.ParseBool(val); err == nil {
		v = b
	}
	if strings.HasSuffix(key, "_ids") || key == "vpc_subnets" {
		v = strings.Split(val, ",")
	}
	m[key] = v
	out, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	ns, err := Parse(out)
	if err != nil {
		return errs.Configuration(fmt.Sprintf("override %q", kv), "use a field name from the spec reference with a value of the right type", err)
	}
	*s = *ns
	return nil
}
