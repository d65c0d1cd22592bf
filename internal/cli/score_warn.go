package cli

import (
	"fmt"
	"io"

	"github.com/sagetrain/sagetrain/internal/trainer"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// scoreWarn says when a score rests on a guess: an age no group of the
// model covers (the nearest group was used) or a subject the model does not
// know (scored as unspecified).
func scoreWarn(w io.Writer, s trainer.Score, subject string) {
	if !s.GroupExact {
		fmt.Fprintf(w, "warning: %s: age %g is outside every age group of this model; scored with the nearest group, %s\n", s.Image, s.AgeYears, s.Group)
	}
	if subject != "" && !data.KnownSubject(subject) {
		fmt.Fprintf(w, "warning: %s: subject %q is not one the model knows; scored as unspecified\n", s.Image, subject)
	}
}
