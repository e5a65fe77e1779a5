package endpoint

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrPortInUse is wrapped when a host port to publish is bound already: by another process, or by
// another container's published port (the plugin holds a socket on each of those).
var ErrPortInUse = errors.New("in use on the node (published by another container, or bound by a process)")

// reservation is a socket bound, never listening, on a published host port, as docker-proxy holds
// one: while it is open nothing else on the node can bind the port, and the port's traffic never
// reaches it (the DNAT rule takes it first).
type reservation struct {
	m  Mapping
	fd int
}

// reserve binds a socket for b in ns, on the first free candidate port, and returns the mapping to
// ctr it stands for. Its socket keeps ns for life, so only its creation runs there.
func reserve(ns netns.NsHandle, b Binding, ctr netip.Addr) (reservation, error) {
	var last error
	for _, port := range b.candidates() {
		fd, got, err := bindIn(ns, b.Proto, b.hostIP(), port)
		if err == nil {
			return reservation{m: Mapping{Proto: b.Proto, HostIP: b.hostIP(), HostPort: got,
				Container: netip.AddrPortFrom(ctr, b.Port)}, fd: fd}, nil
		}
		last = err
		if !errors.Is(err, ErrPortInUse) {
			break
		}
	}
	return reservation{}, last
}

// bindIn binds a socket of proto on ip:port in ns (not open: the calling thread's netns); port 0
// lets the kernel pick a free one from the netns' ip_local_port_range. Equivalent to what
// docker-proxy does before it listens: `socket(); bind()`.
func bindIn(ns netns.NsHandle, proto Proto, ip netip.Addr, port uint16) (fd int, got uint16, err error) {
	type bound struct {
		fd   int
		port uint16
	}
	b, err := inNetns(ns, func() (bound, error) {
		fd, got, err := bindHere(proto, ip, port)
		return bound{fd, got}, err
	})
	return b.fd, b.port, err
}

func bindHere(proto Proto, ip netip.Addr, port uint16) (int, uint16, error) {
	typ := unix.SOCK_STREAM
	if proto == UDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("socket for %s port %d: %w", proto, port, err)
	}
	// No SO_REUSEADDR: any other bind of the port, with or without it, fails while this one holds it.
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: ip.As4()}); err != nil {
		_ = unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return -1, 0, fmt.Errorf("host port %d/%s on %s: %w", port, proto, ip, ErrPortInUse)
		}
		if errors.Is(err, unix.EACCES) && port < 1024 {
			return -1, 0, fmt.Errorf("host port %d/%s on %s: a port below 1024 needs CAP_NET_BIND_SERVICE, which the plugin does not have: %w",
				port, proto, ip, err)
		}
		return -1, 0, fmt.Errorf("bind %s %s: %w", proto, netip.AddrPortFrom(ip, port), err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("bound %s port %d: %w", proto, port, err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		_ = unix.Close(fd)
		return -1, 0, fmt.Errorf("bound %s port %d: address family %T", proto, port, sa)
	}
	return fd, uint16(in4.Port), nil
}

// release closes the reservations' sockets, freeing their ports. A close error leaves nothing to do.
func release(rs []reservation) {
	for _, r := range rs {
		_ = unix.Close(r.fd)
	}
}
