package endpoint

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// aliasPrefix starts the alias (IFLA_IFALIAS) of every host link this package owns. The version lets a
// later format coexist with links created by an older plugin.
const aliasPrefix = "cilium-docker/v1 "

// aliasState is what the host link's alias records so that Join, Leave and GC can work from the
// kernel alone, even after the container side left for the sandbox:
//
//	cilium-docker/v1 net=<networkID> ipv4=<addr or -> ipv6=<addr or -> mac=<container MAC>
type aliasState struct {
	NetworkID    NetworkID
	IPv4, IPv6   netip.Addr // invalid when the endpoint has no address of that family
	ContainerMAC net.HardwareAddr
}

// String renders the alias in its one canonical form.
func (a aliasState) String() string {
	return fmt.Sprintf("%snet=%s ipv4=%s ipv6=%s mac=%s",
		aliasPrefix, a.NetworkID, addrOrDash(a.IPv4), addrOrDash(a.IPv6), a.ContainerMAC)
}

func addrOrDash(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

// parseAlias reads an alias written by aliasState.String. Anything else, including a non-canonical
// spelling of the same values, is an error.
func parseAlias(s string) (aliasState, error) {
	rest, ok := strings.CutPrefix(s, aliasPrefix)
	if !ok {
		return aliasState{}, fmt.Errorf("alias %q: want prefix %q", s, aliasPrefix)
	}
	keys := [...]string{"net", "ipv4", "ipv6", "mac"} // the only accepted order
	fields := strings.Split(rest, " ")
	if len(fields) != len(keys) {
		return aliasState{}, fmt.Errorf("alias %q: want %d fields, got %d", s, len(keys), len(fields))
	}
	var vals [len(keys)]string
	for i, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != keys[i] || v == "" {
			return aliasState{}, fmt.Errorf("alias %q: field %q: want %s=<value>", s, f, keys[i])
		}
		vals[i] = v
	}
	var (
		a   aliasState
		err error
	)
	if a.NetworkID, err = ParseNetworkID(vals[0]); err != nil { // the kernel's text: parsed like a request's
		return aliasState{}, fmt.Errorf("alias %q: network: %w", s, err)
	}
	if a.IPv4, err = parseAliasAddr(vals[1]); err != nil {
		return aliasState{}, fmt.Errorf("alias %q: ipv4: %w", s, err)
	}
	if a.IPv6, err = parseAliasAddr(vals[2]); err != nil {
		return aliasState{}, fmt.Errorf("alias %q: ipv6: %w", s, err)
	}
	if a.ContainerMAC, err = net.ParseMAC(vals[3]); err != nil {
		return aliasState{}, fmt.Errorf("alias %q: mac: %w", s, err)
	}
	if err = checkAddrs(a.IPv4, a.IPv6); err != nil {
		return aliasState{}, fmt.Errorf("alias %q: %w", s, err)
	}
	if a.String() != s {
		return aliasState{}, fmt.Errorf("alias %q: not in canonical form %q", s, a.String())
	}
	return a, nil
}

func parseAliasAddr(v string) (netip.Addr, error) {
	if v == "-" {
		return netip.Addr{}, nil
	}
	return netip.ParseAddr(v)
}

// checkAddrs rejects an IPv4 slot holding anything but IPv4 and an IPv6 slot holding anything but plain
// IPv6 (no IPv4-mapped form, no zone).
func checkAddrs(v4, v6 netip.Addr) error {
	if v4.IsValid() && !v4.Is4() {
		return fmt.Errorf("ipv4 %q is not an IPv4 address", v4)
	}
	if v6.IsValid() && (!v6.Is6() || v6.Is4In6() || v6.Zone() != "") {
		return fmt.Errorf("ipv6 %q is not a plain IPv6 address", v6)
	}
	return nil
}
