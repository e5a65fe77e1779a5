package endpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// ListOwned returns every host link in the netns whose alias marks it as this plugin's, in ifindex
// order, for leak checks and GC. Links with a malformed alias are left out and named in the returned
// error, next to the links that parsed. Equivalent to: `ip link show | grep 'alias cilium-docker/v1 '`.
func (v *Veths) ListOwned(ctx context.Context) ([]Link, error) {
	o, err := v.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("list owned veths: %w", err)
	}
	defer o.close()
	all, err := o.list()
	if err != nil {
		return nil, fmt.Errorf("list owned veths: %w", err)
	}
	var (
		owned []Link
		errs  []error
	)
	for _, l := range all {
		a := l.Attrs()
		if !strings.HasPrefix(a.Alias, aliasPrefix) {
			continue
		}
		st, err := parseAlias(a.Alias)
		if err != nil {
			errs = append(errs, fmt.Errorf("link %q: %w", a.Name, err))
			continue
		}
		owned = append(owned, *linkFrom(l, st))
	}
	if len(errs) > 0 {
		return owned, fmt.Errorf("list owned veths: %w", errors.Join(errs...))
	}
	return owned, nil
}

// DeleteOwned removes a host link ListOwned returned, by its name, and the container-side link of the
// same pair if one is left in this netns: for garbage collection, which knows the link but not its
// endpoint ID. A host link that is gone is success; one whose alias no longer marks it as this
// plugin's is left alone and reported. Equivalent to: `ip link del dev $host; ip link del dev $container`.
func (v *Veths) DeleteOwned(ctx context.Context, host string) error {
	if !isHostName(host) {
		return fmt.Errorf("delete owned veth %q: not a host-side name of this plugin", host)
	}
	if err := v.deleteOwned(ctx, namesFromHost(host)); err != nil {
		return fmt.Errorf("delete owned veth %q: %w", host, err)
	}
	return nil
}

func (v *Veths) deleteOwned(ctx context.Context, n Names) error {
	o, err := v.open(ctx)
	if err != nil {
		return err
	}
	defer o.close()
	l, err := o.lookup(n.Host)
	if err != nil {
		return err
	}
	if l != nil {
		unfinished, err := o.unfinished(l)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(l.Attrs().Alias, aliasPrefix) && !unfinished {
			return fmt.Errorf("alias %q does not mark it as this plugin's: left alone", l.Attrs().Alias)
		}
		if err := o.del(l); err != nil && !isNotFound(err) {
			return err
		}
	}
	return o.remove(Names{Host: n.Host, Container: n.Container}) // the peer went with the host side; a stray one did not
}

// ListUnfinished returns the host-side names of the pairs a Create began and did not finish (the
// process was killed between the add and the alias): a veth named like a host side of NamesFor, with
// no alias, whose peer is in this netns under the matching container-side name. No other creator
// names pairs so (Cilium's CNI uses "lxc" and 12 hex characters, and a temporary peer name of 5).
// Equivalent to: `ip link show type veth | grep -v alias`, filtered by name.
func (v *Veths) ListUnfinished(ctx context.Context) ([]string, error) {
	o, err := v.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unfinished veths: %w", err)
	}
	defer o.close()
	all, err := o.list()
	if err != nil {
		return nil, fmt.Errorf("list unfinished veths: %w", err)
	}
	var out []string
	for _, l := range all {
		if ok, err := o.unfinished(l); err == nil && ok {
			out = append(out, l.Attrs().Name)
		}
	}
	return out, nil
}

// unfinished reports whether l is the host side of a pair Create added but did not alias.
func (o *op) unfinished(l netlink.Link) (bool, error) {
	a := l.Attrs()
	if _, ok := l.(*netlink.Veth); !ok || a.Alias != "" || a.NetNsID != -1 || !isHostName(a.Name) {
		return false, nil
	}
	peer, err := o.lookup(namesFromHost(a.Name).Container)
	if err != nil || peer == nil {
		return false, err
	}
	return peer.Attrs().Index == a.ParentIndex, nil
}

// isHostName reports whether name has the form of a NamesFor host side: "lxc" and 11 hex characters.
func isHostName(name string) bool {
	h, ok := strings.CutPrefix(name, hostPrefix)
	return ok && len(h) == hashChars && strings.Trim(h, "0123456789abcdef") == ""
}
