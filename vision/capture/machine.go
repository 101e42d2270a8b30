package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Machine is what a board says it is in its device tree.
type Machine struct {
	// Model is the device tree's model, such as "Raspberry Pi 5 Model B
	// Rev 1.0" or "NVIDIA Jetson Orin Nano Developer Kit".
	Model string
	// Compatible lists the board and SoC, most specific first, such as
	// "raspberrypi,5-model-b", "brcm,bcm2712".
	Compatible []string
}

// ProbeMachine reads the running board's device tree
// (/proc/device-tree/model and compatible). Machines without a device
// tree (x86 PCs) give an error.
func ProbeMachine() (Machine, error) {
	model, err := os.ReadFile("/proc/device-tree/model")
	if err != nil {
		return Machine{}, fmt.Errorf("reading the board's model: %w (not a single-board computer with a device tree?)", err)
	}
	m := Machine{Model: strings.TrimSpace(string(bytes.TrimRight(model, "\x00")))}
	// compatible is a list of NUL-terminated strings.
	if c, err := os.ReadFile("/proc/device-tree/compatible"); err == nil {
		for _, s := range bytes.Split(bytes.TrimRight(c, "\x00"), []byte{0}) {
			if len(s) > 0 {
				m.Compatible = append(m.Compatible, string(s))
			}
		}
	}
	return m, nil
}

// cameraStack is how a board's CSI cameras are reached.
type cameraStack int

const (
	libcamera cameraStack = iota + 1 // Raspberry Pi: libcamerasrc
	argus                            // NVIDIA Jetson: nvarguscamerasrc
)

func (c cameraStack) String() string {
	switch c {
	case libcamera:
		return "libcamera"
	case argus:
		return "Argus"
	}
	return "no camera stack"
}

// errNoCSI says the board is neither a Raspberry Pi nor a Jetson.
var errNoCSI = errors.New("csi cameras are supported on a Raspberry Pi (libcamera) or an NVIDIA Jetson (Argus)")

// csiStack chooses the camera stack by the board: the compatible strings
// first (they name the SoC even on third-party carrier boards), the model
// as a fallback.
func (m Machine) csiStack() (cameraStack, error) {
	for _, c := range m.Compatible {
		switch {
		case strings.HasPrefix(c, "raspberrypi,"), strings.HasPrefix(c, "brcm,bcm2711"), strings.HasPrefix(c, "brcm,bcm2712"):
			return libcamera, nil
		case strings.HasPrefix(c, "nvidia,tegra"):
			return argus, nil
		}
	}
	switch {
	case strings.Contains(m.Model, "Raspberry Pi"):
		return libcamera, nil
	case strings.Contains(m.Model, "Jetson"):
		return argus, nil
	}
	return 0, fmt.Errorf("%w; this board is %q: use a USB camera (/dev/video0) or a gst:PIPELINE source", errNoCSI, m.Model)
}
