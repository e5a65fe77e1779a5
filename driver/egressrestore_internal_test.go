package driver

import (
	"context"
	"strings"
	"testing"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

type listedEndpoints []*models.Endpoint

func (l listedEndpoints) Endpoints(context.Context) ([]*models.Endpoint, error) { return l, nil }

type sweptStore struct{ names, deleted []string }

func (s *sweptStore) Apply(context.Context, string, string) error { return nil }
func (s *sweptStore) Delete(_ context.Context, name string) error {
	s.deleted = append(s.deleted, name)
	return nil
}
func (s *sweptStore) List(context.Context) ([]string, error) { return s.names, nil }

// TestEgressRestoreEndpointWithoutLabels: an endpoint of this plugin that the agent lists without its
// labels may carry a stamp: Restore removes nothing then.
func TestEgressRestoreEndpointWithoutLabels(t *testing.T) {
	eid := endpoint.MustParseID(strings.Repeat("ab", 32))
	cid, ifName := endpoint.Attachment(eid)
	ep := &models.Endpoint{Status: &models.EndpointStatus{ExternalIdentifiers: &models.EndpointIdentifiers{
		CniAttachmentID: cid + ":" + ifName}}}
	if _, ok := DockerEndpointID(ep); !ok {
		t.Fatal("the test's endpoint is not one of the plugin's")
	}
	unused := egress.Name("n1", []string{"container:name=x"})
	st := &sweptStore{names: []string{unused}}
	r := newEgress(logrus.NewEntry(logrus.New()), st, listedEndpoints{ep}, "n1")
	if _, err := r.Restore(context.Background()); err == nil || len(st.deleted) != 0 {
		t.Fatalf("Restore: %v, deleted %v; want an error and nothing removed", err, st.deleted)
	}
	ep.Status.Labels = &models.LabelConfigurationStatus{SecurityRelevant: []string{"container:name=y"}}
	if n, err := r.Restore(context.Background()); err != nil || n != 1 || len(st.deleted) != 1 {
		t.Fatalf("Restore with the labels: removed %d, %v, deleted %v; want the unused policy removed", n, err, st.deleted)
	}
}
