//go:build unix && !linux

package compat

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
