package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/labels"
	"github.com/cilium-docker/cilium-docker/server"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// plugin is the server as the binary builds it; the capability handlers need no agent.
func plugin() *server.Server {
	s := server.New(servertest.Log())
	ipam.Register(s, ipam.New(ipam.Deps{Book: ipam.NewBook()}))
	driver.Register(s, driver.New(driver.Deps{Log: servertest.Log(), Name: driver.DriverName, AddressSpaces: ipam.AddressSpaces(), Policy: labels.DefaultPolicy()}))
	return s
}

func TestActivationAndCapabilities(t *testing.T) {
	c := servertest.Client(servertest.Serve(t, plugin()))
	tests := []struct {
		method string
		body   string
		want   string
	}{
		{"Plugin.Activate", "", `{"Implements":["NetworkDriver","IpamDriver"]}`},
		{"NetworkDriver.GetCapabilities", "", `{"Scope":"local","ConnectivityScope":"local"}`},
		{"IpamDriver.GetCapabilities", "", `{"RequiresMACAddress":false,"RequiresRequestReplay":false}`},
		{"IpamDriver.GetDefaultAddressSpaces", "", `{"LocalDefaultAddressSpace":"CiliumLocal","GlobalDefaultAddressSpace":"CiliumGlobal"}`},
		{"IpamDriver.GetCapabilities", " \n", `{"RequiresMACAddress":false,"RequiresRequestReplay":false}`},
		{"NetworkDriver.GetCapabilities", "{}", `{"Scope":"local","ConnectivityScope":"local"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			code, body := servertest.Post(t, c, tt.method, []byte(tt.body))
			if code != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", code, body)
			}
			if got := strings.TrimSpace(string(body)); got != tt.want {
				t.Errorf("answer: got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s := server.New(servertest.Log())
	type req struct{ NetworkID string }
	server.Handle(s, "NetworkDriver.CreateNetwork", func(_ context.Context, r *req) (*struct{}, error) {
		return nil, nil
	})
	c := servertest.Client(servertest.Serve(t, s))
	tests := []struct {
		name     string
		method   string
		body     []byte
		wantCode int
		wantErr  string // "" = no JSON Err expected
	}{
		{"unknown method", "NetworkDriver.Frobnicate", []byte(`{}`), http.StatusNotFound, ""},
		{"unknown interface", "VolumeDriver.Create", nil, http.StatusNotFound, ""},
		{"malformed JSON", "NetworkDriver.CreateNetwork", []byte(`{"NetworkID":`), http.StatusBadRequest, "decode"},
		{"wrong type", "NetworkDriver.CreateNetwork", []byte(`{"NetworkID":7}`), http.StatusBadRequest, "decode"},
		{"body over 1 MiB", "NetworkDriver.CreateNetwork", bytes.Repeat([]byte(" "), server.MaxBody+1), http.StatusBadRequest, "request body exceeds 1048576 bytes"},
		{"unknown fields ignored", "NetworkDriver.CreateNetwork", []byte(`{"NetworkID":"n","Future":true}`), http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := servertest.Post(t, c, tt.method, tt.body)
			if code != tt.wantCode {
				t.Errorf("status: got %d (%s), want %d", code, body, tt.wantCode)
			}
			if tt.wantErr == "" {
				return
			}
			var e struct{ Err string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("answer %q is not {\"Err\": ...}: %v", body, err)
			}
			if !strings.Contains(e.Err, tt.wantErr) {
				t.Errorf("Err: got %q, want it to contain %q", e.Err, tt.wantErr)
			}
		})
	}
}

func TestHandlerError(t *testing.T) {
	s := server.New(servertest.Log())
	server.Handle(s, "IpamDriver.RequestPool", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, errFixed("pool %d%% gone") // a % in the message must survive verbatim
	})
	code, body := servertest.Post(t, servertest.Client(servertest.Serve(t, s)), "IpamDriver.RequestPool", nil)
	if code != http.StatusInternalServerError || strings.TrimSpace(string(body)) != `{"Err":"pool %d%% gone"}` {
		t.Errorf("got %d %s, want 500 {\"Err\":\"pool %%d%%%% gone\"}", code, body)
	}
}

// TestObserver: every answered protocol call reaches the observer once, with its method and the error
// it answered with; a body Docker cannot have sent counts as an error of that method.
func TestObserver(t *testing.T) {
	type seen struct {
		method string
		failed bool
	}
	var mu sync.Mutex
	var got []seen
	s := server.New(servertest.Log(), server.WithObserver(func(method string, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if took <= 0 {
			t.Errorf("%s: took %v", method, took)
		}
		got = append(got, seen{method, err != nil})
	}))
	server.Handle(s, "IpamDriver.RequestPool", func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	server.Handle(s, "IpamDriver.ReleasePool", func(context.Context, *struct{}) (*struct{}, error) {
		return nil, errFixed("no")
	})
	c := servertest.Client(servertest.Serve(t, s))
	servertest.Post(t, c, "IpamDriver.RequestPool", []byte(`{}`))
	servertest.Post(t, c, "IpamDriver.ReleasePool", []byte(`{}`))
	servertest.Post(t, c, "IpamDriver.RequestPool", []byte(`{`))
	mu.Lock()
	defer mu.Unlock()
	want := []seen{{"IpamDriver.RequestPool", false}, {"IpamDriver.ReleasePool", true}, {"IpamDriver.RequestPool", true}}
	if !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

type errFixed string

func (e errFixed) Error() string { return string(e) }

func TestServeShutdown(t *testing.T) {
	s := server.New(servertest.Log())
	entered, release := make(chan struct{}), make(chan struct{})
	server.Handle(s, "NetworkDriver.Join", func(ctx context.Context, _ *struct{}) (*struct{ Done bool }, error) {
		close(entered)
		<-release
		return &struct{ Done bool }{Done: ctx.Err() == nil}, nil
	})
	path := filepath.Join(servertest.ShortDir(t), "cilium.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, path, 5*time.Second) }()
	testkit.Eventually(t, time.Second, "the socket", func() error { _, err := os.Stat(path); return err })

	type result struct {
		code int
		body []byte
	}
	answered := make(chan result, 1)
	c := servertest.Client(path)
	go func() {
		resp, err := c.Post("http://plugin/NetworkDriver.Join", "", nil)
		if err != nil {
			answered <- result{code: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- result{resp.StatusCode, b}
	}()
	<-entered
	cancel()
	testkit.Eventually(t, 2*time.Second, "the socket to be removed", func() error {
		_, err := os.Lstat(path)
		if err == nil {
			return errors.New("still there")
		}
		if !os.IsNotExist(err) {
			return err
		}
		return nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	r := <-answered
	if r.code != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"Done":true}` {
		t.Errorf("in-flight request: got %d %s, want 200 {\"Done\":true}", r.code, r.body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
}

// TestEmptyBodyIsRefusedWithItsCause: Docker's plugin client retries a call whose connection broke (the
// plugin restarted in the middle of it) with the body its first attempt consumed, so the new process
// gets it empty. Every call that takes arguments must say so, and act on nothing: with the nil agent of
// plugin() a handler that ran anyway would panic and the answer would be lost.
func TestEmptyBodyIsRefusedWithItsCause(t *testing.T) {
	c := servertest.Client(servertest.Serve(t, plugin()))
	for _, method := range []string{
		"NetworkDriver.CreateNetwork", "NetworkDriver.DeleteNetwork", "NetworkDriver.CreateEndpoint",
		"NetworkDriver.EndpointOperInfo", "NetworkDriver.Join", "NetworkDriver.Leave", "NetworkDriver.DeleteEndpoint",
		"NetworkDriver.ProgramExternalConnectivity", "NetworkDriver.RevokeExternalConnectivity",
		"IpamDriver.RequestPool", "IpamDriver.ReleasePool", "IpamDriver.RequestAddress", "IpamDriver.ReleaseAddress",
	} {
		t.Run(method, func(t *testing.T) {
			for _, body := range []string{"", " \n"} {
				code, answer := servertest.Post(t, c, method, []byte(body))
				var e struct{ Err string }
				if err := json.Unmarshal(answer, &e); err != nil {
					t.Fatalf("answer %q is not {\"Err\": ...}: %v", answer, err)
				}
				if code != http.StatusBadRequest {
					t.Errorf("status: got %d, want 400", code)
				}
				for _, want := range []string{method + ": ", "empty body", "plugin restarted", "run the docker command again"} {
					if !strings.Contains(e.Err, want) {
						t.Errorf("Err %q: want it to contain %q", e.Err, want)
					}
				}
				if strings.Contains(e.Err, "invalid id") {
					t.Errorf("Err %q: still the ID parser's message", e.Err)
				}
			}
		})
	}
}
