package mlflowserver

import (
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// process is a started child in its own process group, killed with the
// test process (Pdeathsig).
type process struct {
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	err     error // the start error
}

func startProcess(cmd *exec.Cmd, cred *syscall.Credential) *process {
	p := &process{cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if p.err = cmd.Start(); p.err != nil {
		close(p.done)
		return p
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p
}

// kill sends SIGKILL to the whole group and waits for the leader.
func (p *process) kill() {
	if p.err != nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// syncBuffer collects a process's output, safe for concurrent writes; it
// keeps the last 256 KiB.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 512<<10 {
		s := b.b.String()
		b.b.Reset()
		b.b.WriteString(s[len(s)-256<<10:])
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
