package status

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// socketInfo is what the plugin socket answered.
type socketInfo struct {
	Mode       os.FileMode
	Implements []string
}

// probeSocket checks that path is a socket and answers Plugin.Activate.
func probeSocket(ctx context.Context, path string) (socketInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return socketInfo{}, fmt.Errorf("plugin socket: %w", err)
	}
	info := socketInfo{Mode: fi.Mode()}
	if fi.Mode()&os.ModeSocket == 0 {
		return info, fmt.Errorf("plugin socket %s is not a socket (%s)", path, fi.Mode())
	}
	body, err := httpUnix(ctx, path, http.MethodPost, "/Plugin.Activate", "application/vnd.docker.plugins.v1.2+json")
	if err != nil {
		return info, fmt.Errorf("plugin socket %s: Plugin.Activate: %w", path, err)
	}
	var act struct{ Implements []string }
	if err := json.Unmarshal(body, &act); err != nil {
		return info, fmt.Errorf("plugin socket %s: Plugin.Activate answer %q: %w", path, body, err)
	}
	info.Implements = act.Implements
	return info, nil
}

// httpUnix makes one request over a unix socket and returns the body of a 200 answer.
func httpUnix(ctx context.Context, path, method, url, contentType string) ([]byte, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer c.CloseIdleConnections()
	return do(ctx, c, method, "http://localhost"+url, contentType)
}

func do(ctx context.Context, c *http.Client, method, url, contentType string) ([]byte, error) {
	var in io.Reader
	if method == http.MethodPost {
		in = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, url, in)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// samples are a scrape's metric values by "name" or "name{labels}" as exposed.
type samples map[string]float64

// sum adds up every sample of the metric name whose labels contain all of want ("k=\"v\"").
func (s samples) sum(name string, want ...string) (float64, bool) {
	var total float64
	found := false
	for k, v := range s {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(labels, w)
		}
		if ok {
			total += v
			found = true
		}
	}
	return total, found
}

// scrape reads the plugin's /metrics (network "tcp" or "unix", as metrics.ParseAddress gives them).
func scrape(ctx context.Context, network, address string) (samples, error) {
	var (
		body []byte
		err  error
	)
	if network == "unix" {
		body, err = httpUnix(ctx, address, http.MethodGet, "/metrics", "")
	} else {
		c := &http.Client{}
		body, err = do(ctx, c, http.MethodGet, "http://"+address+"/metrics", "")
		c.CloseIdleConnections()
	}
	if err != nil {
		return nil, err
	}
	out := samples{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
