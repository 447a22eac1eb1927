package compat

import "syscall"

// setParentDeathSignal has the kernel kill the child when the test process
// dies (for example on a test timeout, which skips cleanups).
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
