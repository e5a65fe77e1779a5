package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// State of one check.
type State string

// The check states. Only Warning and Failure need attention.
const (
	OK       State = "ok"
	Warning  State = "warning"
	Failure  State = "failure"
	Disabled State = "disabled" // off by configuration; not a fault
	Unknown  State = "unknown"  // could not be checked (what it depends on failed), or not reported
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	State  State  `json:"state"`
	Detail string `json:"detail"`
	// Hint is what to do, when the check needs attention.
	Hint string `json:"hint,omitempty"`
}

// Container is one container joined to a cilium network, as Docker and the agent see it.
type Container struct {
	Name       string   `json:"name"`
	Network    string   `json:"network"`
	IPv4       string   `json:"ipv4,omitempty"`
	EndpointID int64    `json:"endpoint_id,omitempty"` // the agent's numeric ID; 0 when it has none
	Identity   int64    `json:"identity,omitempty"`
	Labels     []string `json:"labels,omitempty"`
	State      string   `json:"state"`
}

// Report is the whole status of a node.
type Report struct {
	Checks     []Check     `json:"checks"`
	Containers []Container `json:"containers"`
}

// Attention lists the checks that need attention (Warning or Failure).
func (r *Report) Attention() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.State == Warning || c.State == Failure {
			out = append(out, c)
		}
	}
	return out
}

// Healthy reports whether nothing needs attention.
func (r *Report) Healthy() bool { return len(r.Attention()) == 0 }

func (r *Report) add(name string, st State, hint, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, State: st, Detail: fmt.Sprintf(format, args...), Hint: hint})
}

// JSON writes the report as one JSON object, with "healthy".
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Healthy bool `json:"healthy"`
		*Report
	}{r.Healthy(), r})
}

// Text writes the report as aligned tables: the checks, the containers, then what needs attention
// with its hints.
func (r *Report) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s:\t%s\t%s\n", c.Name, label(c.State), c.Detail)
	}
	if len(r.Containers) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "CONTAINER\tNETWORK\tENDPOINT\tIDENTITY\tSTATE\tADDRESS\tLABELS")
		for _, c := range r.Containers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Network, num(c.EndpointID), num(c.Identity), c.State,
				c.IPv4, strings.Join(c.Labels, ","))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	att := r.Attention()
	if len(att) == 0 {
		_, err := fmt.Fprintln(w, "\nHealthy.")
		return err
	}
	fmt.Fprintf(w, "\n%d need attention:\n", len(att))
	for _, c := range att {
		fmt.Fprintf(w, "  %s: %s\n    hint: %s\n", c.Name, c.Detail, c.Hint)
	}
	return nil
}

func label(s State) string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "Warning"
	case Failure:
		return "FAILURE"
	case Disabled:
		return "Disabled"
	}
	return "-"
}

func num(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
