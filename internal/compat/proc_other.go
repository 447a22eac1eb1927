//go:build !unix

package compat

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

// signalGroup kills the process; without process groups its children may
// survive.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
