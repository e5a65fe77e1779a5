package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// readyRun is one labelled `docker run -d`: seconds after its start until it returned, until the agent's
// event that it built the endpoint under the label (ready), and until the agent's endpoint list first
// showed it ready under the label (polled); NaN when not seen (the bridge: neither).
type readyRun struct{ ret, ready, polled float64 }

// The limits of runReady's waits, bench.sh's.
const (
	pollLimit  = 30 * time.Second // the endpoint list, polled every 10 ms
	eventLimit = 5 * time.Second  // then the monitor's event
)

// runReady starts a sleeping container named name, labelled bench=name, and, while `docker run -d` runs,
// polls the agent's endpoint list for it ready under that label; once listed, takes the stamp of the
// agent's event from mon (nil for the bridge, which polls nothing). A failed run stops the bench.
func (s *side) runReady(ctx context.Context, mon *Monitor, name string) (readyRun, error) {
	r := readyRun{ready: math.NaN(), polled: math.NaN()}
	ran := make(chan error, 1)
	t0 := time.Now()
	var tret time.Time
	go func() { // owned here: its result is received below on every path
		_, err := s.docker(ctx, "run", "-d", "--pull", "never", "--init", "--name", name, "-l", "bench="+name,
			"--net", s.net, Image, "sleep", "100000")
		tret = time.Now()
		ran <- err
	}()
	if s.name != Bridge {
		tpolled, err := s.pollReady(ctx, name, t0)
		if err != nil {
			if runErr := <-ran; runErr != nil {
				s.bed.logf("%v", runErr)
			}
			return r, err
		}
		if !tpolled.IsZero() {
			r.polled = tpolled.Sub(t0).Seconds()
			wctx, cancel := context.WithTimeout(ctx, eventLimit)
			if at, err := mon.Wait(wctx, Regenerated(name)); err == nil {
				r.ready = at.Sub(t0).Seconds()
			}
			cancel()
		}
	}
	if err := <-ran; err != nil {
		return r, err
	}
	r.ret = tret.Sub(t0).Seconds()
	return r, nil
}

// pollReady is the instant the agent's endpoint list first showed the endpoint labelled
// container:bench=name ready, zero when it did not within pollLimit of start. A 429 (the agent's rate
// limit on endpoint lists) or an unreadable answer is simply asked again.
func (s *side) pollReady(ctx context.Context, name string, start time.Time) (time.Time, error) {
	label := "container:bench=" + name
	for {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		body, status, err := agentTry(gctx, s.env["CILIUM_SOCK"], "/endpoint")
		cancel()
		if err == nil && status == http.StatusOK {
			var eps []agentEndpoint
			if json.Unmarshal(body, &eps) == nil {
				for _, e := range eps {
					if e.has(label) && e.Status.State == "ready" {
						return time.Now(), nil
					}
				}
			}
		}
		if time.Since(start) >= pollLimit {
			return time.Time{}, nil
		}
		if err := pause(ctx, 10*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
}

// firstPacket starts a container that pings target every 10 ms from its first instant and returns how
// many of the first pings were lost before one came back (the sequence number of the first answer);
// false when none came back or the run failed (bench.sh: `|| true`). Once the first answer is read the CLI
// is killed, as bench.sh's pipe closed on it: the container goes on pinging until its 150 pings are done,
// then the engine removes it (--rm).
func (s *side) firstPacket(ctx context.Context, name, target string) (float64, bool) {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	cmd := s.dockerCmd(ctx, "run", "--rm", "--pull", "never", "--name", name, "-l", "bench="+name, "--net", s.net, Image,
		"ping", "-c", "150", "-i", "0.01", "-W", "2", target)
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return 0, false
	}
	lost, ok := firstSeq(out)
	cancel()
	_, _ = io.Copy(io.Discard, out)
	_ = cmd.Wait()
	return lost, ok
}

// firstSeq is the sequence number of ping's first answer ("64 bytes from …: seq=3 ttl=64 …").
func firstSeq(r io.Reader) (float64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		_, rest, ok := strings.Cut(sc.Text(), "seq=")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}
