package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ListeningPrefix starts the line a baseline child prints on stdout once it
// listens: "listening 127.0.0.1:PORT".
const ListeningPrefix = "listening "

// Timeouts of child processes.
const (
	startTimeout = 60 * time.Second // until a child listens / is healthy
	stopTimeout  = 30 * time.Second // SIGTERM to exit, before SIGKILL
)

// maxChildStderr bounds the stderr kept from a child for error messages.
const maxChildStderr = 16 << 10

// Process is a server process the tool started (the baseline, or an
// operator) and stops when it is done.
type Process struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *tailBuffer
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed
}

// StartProcess starts bin with args and, added to this process's
// environment, env ("KEY=VALUE"). Its stdout is read by ReadAddr and then
// discarded; the tail of its stderr is kept for error messages.
func StartProcess(bin string, args, env []string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, stdout: bufio.NewReader(out), stderr: &tailBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// PID is the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// ReadAddr waits for the "listening ADDR" line and returns ADDR; stdout is
// drained afterwards so the child never blocks on it.
func (p *Process) ReadAddr() (string, error) {
	type line struct {
		s   string
		err error
	}
	lc := make(chan line, 1)
	go func() {
		for {
			s, err := p.stdout.ReadString('\n')
			if err != nil {
				lc <- line{err: err}
				return
			}
			if addr, ok := strings.CutPrefix(strings.TrimSpace(s), ListeningPrefix); ok {
				lc <- line{s: addr}
				io.Copy(io.Discard, p.stdout)
				return
			}
		}
	}()
	select {
	case l := <-lc:
		if l.err != nil {
			<-p.exited
			return "", fmt.Errorf("child exited before listening: %v: %s", p.err, p.stderr)
		}
		return l.s, nil
	case <-time.After(startTimeout):
		return "", fmt.Errorf("child did not listen within %v", startTimeout)
	}
}

// WaitHealthy polls url until it answers 200, the child exits or ctx ends.
// Stdout is discarded.
func (p *Process) WaitHealthy(ctx context.Context, url string) error {
	go io.Copy(io.Discard, p.stdout)
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("server exited during start-up: %v: %s", p.err, p.stderr)
		case <-ctx.Done():
			return fmt.Errorf("server not healthy at %s: %w: %s", url, ctx.Err(), p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, waits for the exit (SIGKILL after stopTimeout) and
// returns the exit error, if the child did not exit cleanly.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return p.exitErr()
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.exited
	}
	return p.exitErr()
}

func (p *Process) exitErr() error {
	var ee *exec.ExitError
	if p.err == nil || (errors.As(p.err, &ee) && ee.ExitCode() == 0) {
		return nil
	}
	return fmt.Errorf("%s: %v: %s", p.cmd.Path, p.err, p.stderr)
}

// tailBuffer keeps the last maxChildStderr bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - maxChildStderr; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
