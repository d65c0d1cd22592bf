package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// A checkpoint is checkpoints/group-<name>.ckpt: a gob of checkpointFile.
// It holds the full training state at the end of an epoch (weights, Adam
// moments, learning rate, early-stopping counters, best weights, history),
// so a restarted job continues exactly where it stopped. The fingerprint
// ties it to the data and the hyperparameters; a checkpoint that does not
// match them is ignored (and said so in the log).
type checkpointFile struct {
	Version     int
	Fingerprint string
	State       *autoencoder.State
}

const checkpointVersion = 1

func checkpointPath(l Layout, group string) string {
	return filepath.Join(l.CheckpointDir(), "group-"+group+".ckpt")
}

// groupFingerprint hashes what determines a group's training: the training
// hyperparameters, the group and its standardised data.
func groupFingerprint(p Params, g AgeGroup, train, val autoencoder.Matrix) string {
	h := sha256.New()
	tp := p
	tp.Workers, tp.CheckpointSeconds, tp.ExchangeTimeout, tp.LossPlots = 0, 0, 0, false
	b, _ := json.Marshal(struct {
		P Params
		G AgeGroup
	}{tp, g})
	h.Write(b)
	for _, m := range []autoencoder.Matrix{train, val} {
		_ = binary.Write(h, binary.LittleEndian, [2]int64{int64(m.Rows), int64(m.Cols)})
		_ = binary.Write(h, binary.LittleEndian, m.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func saveCheckpoint(l Layout, group, fingerprint string, st *autoencoder.State) error {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(checkpointFile{Version: checkpointVersion, Fingerprint: fingerprint, State: st}); err != nil {
		return err
	}
	return writeFileAtomic(checkpointPath(l, group), b.Bytes())
}

// loadCheckpoint returns the saved state, nil when there is none, and a
// reason when there is one that cannot be used.
func loadCheckpoint(l Layout, group, fingerprint string) (*autoencoder.State, string) {
	b, err := os.ReadFile(checkpointPath(l, group))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ""
	}
	if err != nil {
		return nil, "unreadable: " + err.Error()
	}
	var cf checkpointFile
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&cf); err != nil || cf.State == nil {
		return nil, "corrupt"
	}
	if cf.Version != checkpointVersion {
		return nil, "written by another version"
	}
	if cf.Fingerprint != fingerprint {
		return nil, "made with other data or hyperparameters"
	}
	return cf.State, ""
}
