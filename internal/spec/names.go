package spec

import (
	"crypto/rand"
	"strings"
)

// MaxRemoteNameLength is SageMaker's limit on TrainingJobName.
const MaxRemoteNameLength = 63

// RemoteName derives the backend's job name from the spec's job_name: every
// run of characters SageMaker does not allow (anything but letters, digits
// and '-', e.g. the original's underscores) becomes one '-', leading and
// trailing dashes go, and "-<suffix>" is appended, the base being cut so the
// whole fits in 63 characters. The result always matches SageMaker's
// pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ when suffix is alphanumeric.
func RemoteName(jobName, suffix string) string {
	var b strings.Builder
	dash := false
	for _, r := range jobName {
		if isAlnum(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	base := b.String()
	if base == "" {
		base = "job"
	}
	max := MaxRemoteNameLength
	if suffix != "" {
		max -= len(suffix) + 1
	}
	if len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	if suffix == "" {
		return base
	}
	return base + "-" + suffix
}

// NewSuffix returns a random 8-character lowercase alphanumeric suffix for
// RemoteName, so two jobs of the same spec get different remote names.
func NewSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	out := make([]byte, len(raw))
	for i, c := range raw {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}
