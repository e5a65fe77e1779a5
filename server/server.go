package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// Server serves both plugin protocols on one socket.
type Server struct {
	log     *logrus.Entry
	mux     *http.ServeMux
	observe Observer // nil: nobody listens
}

// Observer is told of every protocol call when it is answered: the method (such as
// "NetworkDriver.Join"), how long it took, and the error it answered with (nil for success).
type Observer func(method string, took time.Duration, err error)

// Option configures a Server.
type Option func(*Server)

// WithObserver has o told of every protocol call.
func WithObserver(o Observer) Option { return func(s *Server) { s.observe = o } }

// New returns a server that answers Plugin.Activate; register the protocol methods with Handle.
func New(log *logrus.Entry, opts ...Option) *Server {
	s := &Server{log: log, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprintln(w, Manifest)
	})
	// Unregistered methods get Go's plain 404, which Docker reads as "not implemented".
	return s
}

// ServeHTTP makes the server usable with httptest and any listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve listens on the unix socket at path and serves until ctx is done. It then stops accepting,
// waits up to grace for requests in flight, and removes the socket.
func (s *Server) Serve(ctx context.Context, path string, grace time.Duration) error {
	l, err := Listen(path)
	if err != nil {
		return err
	}
	ino, err := inode(path)
	if err != nil {
		l.Close()
		return err
	}
	s.log.WithField("socket", path).Info("listening")
	return s.serveListener(ctx, l, grace, func() error { return removeIfOurs(path, ino) })
}

func (s *Server) serveListener(ctx context.Context, l net.Listener, grace time.Duration, cleanup func() error) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		// Remove the socket first so nothing new connects, then drain what is in flight.
		serveErr = cleanup()
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			serveErr = errors.Join(serveErr, fmt.Errorf("shutdown: %w", err))
		}
		// Serve returns ErrServerClosed once Shutdown began; anything else is its own failure.
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = errors.Join(serveErr, fmt.Errorf("serve: %w", err))
		}
		return serveErr
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, cleanup())
}
