package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/container"
)

// Hosts names n hosts as SageMaker does: algo-1 to algo-n (at least one).
func Hosts(n int) []string {
	hs := make([]string, max(n, 1))
	for i := range hs {
		hs[i] = fmt.Sprintf("algo-%d", i+1)
	}
	return hs
}

// Channel is one input channel, already on this machine.
type Channel struct {
	Name   string
	Source string            // a local file or folder
	Config map[string]string // its entry in inputdataconfig.json
}

// ChannelConfig is a channel's inputdataconfig.json entry.
func ChannelConfig(inputMode, distribution, contentType string) map[string]string {
	c := map[string]string{"TrainingInputMode": inputMode, "S3DistributionType": distribution, "RecordWrapperType": "None"}
	if contentType != "" {
		c["ContentType"] = contentType
	}
	return c
}

// Layout is where each host's ml-root is and what goes in it.
type Layout struct {
	Root            string // host h's ml-root is Root/h
	Hosts           []string
	Channels        []Channel
	HyperParameters map[string]string
	InstanceType    string
}

// HostRoot is host h's ml-root.
func (l Layout) HostRoot(h string) string { return filepath.Join(l.Root, h) }

// Prepare makes every host's ml-root: the container's folders, each channel
// under input/data/<channel>, and the three config files.
func (l Layout) Prepare() error {
	hp := l.HyperParameters
	if hp == nil {
		hp = map[string]string{}
	}
	inputCfg := map[string]map[string]string{}
	for _, ch := range l.Channels {
		inputCfg[ch.Name] = ch.Config
	}
	for _, h := range l.Hosts {
		root := l.HostRoot(h)
		for _, d := range container.Dirs {
			if err := os.MkdirAll(container.Path(root, d), 0o755); err != nil {
				return err
			}
		}
		for _, ch := range l.Channels {
			dst := container.Path(root, container.DataDir, ch.Name)
			_ = os.RemoveAll(dst) // a previous, crashed attempt
			// Real folders of hard links: no copying, and the trainer sees
			// plain files as in a container.
			if err := LinkTree(ch.Source, dst); err != nil {
				return fmt.Errorf("link channel %s into %s: %w", ch.Name, h, err)
			}
		}
		rc := resourceConfig{
			CurrentHost: h, CurrentInstanceType: l.InstanceType, Hosts: l.Hosts,
			CurrentGroupName: "homogeneousCluster",
			InstanceGroups: []instanceGroup{{
				InstanceGroupName: "homogeneousCluster", InstanceType: l.InstanceType, Hosts: l.Hosts,
			}},
			NetworkInterfaceName: "lo",
		}
		for file, v := range map[string]any{container.HyperparametersFile: hp, container.InputDataConfigFile: inputCfg, container.ResourceConfigFile: rc} {
			// One line, as SageMaker writes them (the tests' stand-in
			// trainers read them with sed).
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(container.Path(root, container.ConfigDir, file), b, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// resourceConfig is resourceconfig.json.
type resourceConfig struct {
	CurrentHost          string          `json:"current_host"`
	CurrentInstanceType  string          `json:"current_instance_type"`
	Hosts                []string        `json:"hosts"`
	CurrentGroupName     string          `json:"current_group_name"`
	InstanceGroups       []instanceGroup `json:"instance_groups"`
	NetworkInterfaceName string          `json:"network_interface_name"`
}

type instanceGroup struct {
	InstanceGroupName string   `json:"instance_group_name"`
	InstanceType      string   `json:"instance_type"`
	Hosts             []string `json:"hosts"`
}

// maxFailureFile bounds how much of a failure file is read.
const maxFailureFile = 64 << 10

// Failure is what host h's trainer wrote to output/failure, trimmed; empty
// when it wrote nothing.
func (l Layout) Failure(h string) string {
	f, err := os.Open(container.Path(l.HostRoot(h), container.FailureFile))
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxFailureFile))
	return strings.TrimSpace(string(b))
}
