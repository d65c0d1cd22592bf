package progress

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Prefix starts the structured progress record's line: "progress: {json}".
const Prefix = "progress: "

// File is the progress record's file under the ml-root's output/.
const File = "progress.json"

// Tag starts the trainer's log lines that are not records or metrics.
const Tag = "[trainer] "

// A Line is one of the line types below.
type Line interface{ line() }

// Record is where training stands: the "progress: {json}" line, also kept
// in output/progress.json.
type Record struct {
	Group          string   `json:"group"`           // the group training now
	Epoch          int      `json:"epoch"`           // its last finished epoch
	TotalEpochs    int      `json:"total_epochs"`    // the epochs limit (early stopping may end sooner)
	GroupsDone     int      `json:"groups_done"`     // groups of this host finished
	GroupsTotal    int      `json:"groups_total"`    // groups this host trains
	TrainLoss      float64  `json:"train_loss"`      // of the last epoch
	ValLoss        *float64 `json:"val_loss"`        // of the last epoch; null without validation data
	ElapsedSeconds float64  `json:"elapsed_seconds"` // since training of the groups began
	ETASeconds     *float64 `json:"eta_seconds"`     // at most this much more (epochs limit); null before the first epoch
	Host           string   `json:"host"`
	At             string   `json:"at"` // RFC 3339
}

// Epoch is one finished epoch of a group:
// "epoch=N group=G train_loss=X val_loss=Y lr=Z".
type Epoch struct {
	Epoch     int
	Group     string
	TrainLoss float64
	ValLoss   float64 // NaN without validation data
	LR        float64
}

// Groups is the age groups the run trains: "[trainer] age groups: a, b".
type Groups struct{ Names []string }

// GroupDone is a group finished: trained now ("[trainer] group G: N epochs
// in 1.2s (300 samples/s), best epoch B val_loss V") or found already
// trained in its checkpoint ("[trainer] group G: already trained
// (checkpoint), N epochs").
type GroupDone struct {
	Group          string
	Epochs         int // trained now, or in the checkpoint
	FromCheckpoint bool
	Seconds        float64 // these three only when trained now
	SamplesPerSec  float64
	BestEpoch      int
	BestValLoss    float64
}

// Metric is a final metric: "metric: name=value".
type Metric struct {
	Name  string
	Value float64
	Int   bool // written as an integer
}

func (Record) line()    {}
func (Epoch) line()     {}
func (Groups) line()    {}
func (GroupDone) line() {}
func (Metric) line()    {}

// Format is a line's text, without the newline.
func Format(l Line) string {
	switch x := l.(type) {
	case Record:
		b, _ := json.Marshal(x) // plain fields: cannot fail
		return Prefix + string(b)
	case *Record:
		return Format(*x)
	case Epoch:
		return fmt.Sprintf("epoch=%d group=%s train_loss=%.6g val_loss=%.6g lr=%.6g", x.Epoch, x.Group, x.TrainLoss, x.ValLoss, x.LR)
	case Groups:
		return Tag + "age groups: " + strings.Join(x.Names, ", ")
	case GroupDone:
		if x.FromCheckpoint {
			return fmt.Sprintf("%sgroup %s: already trained (checkpoint), %d epochs", Tag, x.Group, x.Epochs)
		}
		return fmt.Sprintf("%sgroup %s: %d epochs in %.1fs (%.0f samples/s), best epoch %d val_loss %.6g",
			Tag, x.Group, x.Epochs, x.Seconds, x.SamplesPerSec, x.BestEpoch, x.BestValLoss)
	case Metric:
		if x.Int {
			return fmt.Sprintf("metric: %s=%d", x.Name, int64(x.Value))
		}
		return fmt.Sprintf("metric: %s=%.6g", x.Name, x.Value)
	}
	return ""
}

// The patterns are unanchored (but for the record's prefix) as the readers'
// always were: a log may carry a timestamp or tag before the text.
var (
	reGroups = regexp.MustCompile(`age groups: (.+)$`)
	reEpoch  = regexp.MustCompile(`epoch=(\d+) group=(\S+) train_loss=(\S+) val_loss=(\S+)(?: lr=(\S+))?`)
	reDone   = regexp.MustCompile(`group (\S+): (\d+) epochs in (\S+)s \((\S+) samples/s\), best epoch (\d+) val_loss (\S+)|group (\S+): (\d+) epochs in|group (\S+): already trained(?: \(checkpoint\), (\d+) epochs)?`)
	reMetric = regexp.MustCompile(`metric: (\S+?)=(\S+)`)
)

// Parse reads one log line: a Record, Epoch, Groups, GroupDone or Metric,
// or nil when the line is none of them (or a malformed one).
func Parse(s string) Line {
	s = strings.TrimSuffix(s, "\n")
	if rest, ok := strings.CutPrefix(s, Prefix); ok {
		var r Record
		if json.Unmarshal([]byte(rest), &r) != nil {
			return nil
		}
		return r
	}
	if m := reEpoch.FindStringSubmatch(s); m != nil {
		var e Epoch
		var err [4]error
		e.Epoch, err[0] = strconv.Atoi(m[1])
		e.Group = m[2]
		e.TrainLoss, err[1] = strconv.ParseFloat(m[3], 64)
		e.ValLoss, err[2] = strconv.ParseFloat(m[4], 64)
		if m[5] != "" {
			e.LR, err[3] = strconv.ParseFloat(m[5], 64)
		}
		for _, e := range err {
			if e != nil {
				return nil
			}
		}
		return e
	}
	if m := reGroups.FindStringSubmatch(s); m != nil {
		var g Groups
		for _, n := range strings.Split(m[1], ",") {
			if n = strings.TrimSpace(n); n != "" {
				g.Names = append(g.Names, n)
			}
		}
		return g
	}
	if m := reDone.FindStringSubmatch(s); m != nil {
		switch {
		case m[1] != "":
			d := GroupDone{Group: m[1]}
			d.Epochs, _ = strconv.Atoi(m[2])
			d.Seconds, _ = strconv.ParseFloat(m[3], 64)
			d.SamplesPerSec, _ = strconv.ParseFloat(m[4], 64)
			d.BestEpoch, _ = strconv.Atoi(m[5])
			d.BestValLoss, _ = strconv.ParseFloat(m[6], 64)
			return d
		case m[7] != "":
			d := GroupDone{Group: m[7]}
			d.Epochs, _ = strconv.Atoi(m[8])
			return d
		default:
			d := GroupDone{Group: m[9], FromCheckpoint: true}
			d.Epochs, _ = strconv.Atoi(m[10])
			return d
		}
	}
	if m := reMetric.FindStringSubmatch(s); m != nil {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil
		}
		_, ierr := strconv.ParseInt(m[2], 10, 64)
		return Metric{Name: m[1], Value: v, Int: ierr == nil}
	}
	return nil
}
