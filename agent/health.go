package agent

import (
	"context"
	"fmt"

	"github.com/cilium/cilium/api/v1/client/daemon"
	"github.com/cilium/cilium/api/v1/models"
)

// Health is the agent's own view of itself (GET /healthz), for the status command.
type Health struct {
	// State and Msg of the agent as a whole, of its kvstore and of Hubble: "Ok", "Warning", "Failure",
	// "Disabled" (Hubble off), or empty when the agent does not report that part.
	State, Msg               string
	Kvstore, KvstoreMsg      string
	Hubble, HubbleMsg        string
	Controllers, FailingCtrl int // controllers, and how many of them last failed
}

// Health reads the agent's status (GET /healthz, the full answer).
func (c *Client) Health(ctx context.Context) (Health, error) {
	st, err := c.healthz(ctx)
	if err != nil {
		return Health{}, err
	}
	if st == nil {
		return Health{}, fmt.Errorf("cilium-agent at %s: empty status", c.addr)
	}
	var h Health
	if st.Cilium != nil {
		h.State, h.Msg = st.Cilium.State, st.Cilium.Msg
	}
	if st.Kvstore != nil {
		h.Kvstore, h.KvstoreMsg = st.Kvstore.State, st.Kvstore.Msg
	}
	if st.Hubble != nil {
		h.Hubble, h.HubbleMsg = st.Hubble.State, st.Hubble.Msg
	}
	for _, ctrl := range st.Controllers {
		h.Controllers++
		if ctrl.Status != nil && ctrl.Status.ConsecutiveFailureCount > 0 {
			h.FailingCtrl++
		}
	}
	return h, nil
}

// healthz is GET /healthz, the full answer (not the brief one), which Health and Allocations read.
func (c *Client) healthz(ctx context.Context) (*models.StatusResponse, error) {
	var st *models.StatusResponse
	err := c.do(ctx, c.timeouts.Call, "get health", "", func(ctx context.Context) error {
		brief := false
		resp, err := c.api.Daemon.GetHealthz(daemon.NewGetHealthzParamsWithContext(ctx).WithBrief(&brief))
		if err != nil {
			return err
		}
		st = resp.Payload
		return nil
	})
	return st, err
}

// Version is the agent's version string (GET /debuginfo, as cilium-dbg version reads it), such as
// "1.20.2 4b1a… 2026-…".
func (c *Client) Version(ctx context.Context) (string, error) {
	var v string
	err := c.do(ctx, c.timeouts.Call, "get version", "", func(ctx context.Context) error {
		resp, err := c.api.Daemon.GetDebuginfo(daemon.NewGetDebuginfoParamsWithContext(ctx))
		if err != nil {
			return err
		}
		if resp.Payload != nil {
			v = resp.Payload.CiliumVersion
		}
		return nil
	})
	return v, err
}
