package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Monitor follows a node's agent events (`cilium monitor -t agent` through the bed's exec), each line
// stamped with time.Now on arrival: the instant the agent said it built an endpoint under a label.
// Start it with StartMonitor; Stop ends the monitor and its reader.
type Monitor struct {
	mu      sync.Mutex
	lines   []stamped
	changed chan struct{} // closed and replaced on every line, and when the monitor ends
	ended   bool

	stop context.CancelFunc
	done chan struct{} // closed when the monitor process and its reader are gone
	err  error         // the process's end, once done
}

type stamped struct {
	at   time.Time
	line string
}

// monitorListening is the line `cilium monitor` prints once it reads the agent's events.
const monitorListening = "Listening for events"

// StartMonitor starts `cilium monitor -t agent` in node n and waits up to 10 s until it listens.
func (b *Bed) StartMonitor(ctx context.Context, n int) (*Monitor, error) {
	mctx, stop := context.WithCancel(ctx)
	cmd, err := b.Cfg.Command(mctx, n, "cilium", "monitor", "-t", "agent")
	if err != nil {
		stop()
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 5 * time.Second
	m := &Monitor{changed: make(chan struct{}), stop: stop, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		stop()
		return nil, fmt.Errorf("%s: cilium monitor: %w", b.Cfg.ID, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader: ends when the pipe is closed below
		defer wg.Done()
		m.read(pr)
	}()
	go func() { // the owner: the process's end closes the pipe, then the reader ends
		err := cmd.Wait()
		pw.Close()
		wg.Wait()
		m.err = err
		close(m.done)
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := m.Wait(wctx, func(l string) bool { return strings.Contains(l, monitorListening) }); err != nil {
		m.Stop()
		return nil, fmt.Errorf("%s: the agent monitor did not start: %w", b.Cfg.ID, err)
	}
	return m, nil
}

func (m *Monitor) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m.add(time.Now(), sc.Text())
	}
	_, _ = io.Copy(io.Discard, r) // a line too long ended the scanner: drain, so the monitor never blocks
	m.mu.Lock()
	m.ended = true
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

func (m *Monitor) add(at time.Time, line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, stamped{at, line})
	close(m.changed)
	m.changed = make(chan struct{})
}

// errMonitorEnded is Wait's error when the monitor ended before the line came.
var errMonitorEnded = errors.New("the agent monitor ended")

// Wait returns the stamp of the first line that match accepts, waiting for it until ctx is done.
func (m *Monitor) Wait(ctx context.Context, match func(string) bool) (time.Time, error) {
	seen := 0
	for {
		m.mu.Lock()
		lines, changed, ended := m.lines[seen:], m.changed, m.ended
		m.mu.Unlock()
		for _, l := range lines {
			if match(l.line) {
				return l.at, nil
			}
		}
		seen += len(lines)
		if ended {
			return time.Time{}, errMonitorEnded
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// Regenerated matches the agent's event that it built (regenerated) the endpoint of the container
// labelled bench=name under that label: the endpoint turning ready.
func Regenerated(name string) func(string) bool {
	label := `"container:bench=` + name + `"`
	return func(l string) bool { return strings.Contains(l, "Endpoint regenerated:") && strings.Contains(l, label) }
}

// Stop ends the monitor and waits for it.
func (m *Monitor) Stop() {
	m.stop()
	<-m.done
}
