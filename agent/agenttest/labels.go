package agenttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
)

// initLabel is the agent's label of an endpoint created without labels.
const initLabel = "reserved:init"

// opLabels are an endpoint's identity labels kept as the agent keeps them (pkg/labels.OpLabels):
// orch holds the labels given at create, or reserved:init when there were none; custom holds the
// labels a PATCH added. Both are sorted sets.
type opLabels struct{ orch, custom []string }

// patch applies a PATCH of the user labels as the agent does (SplitUserLabelChanges, then
// ModifyIdentityLabels): labels not in custom are added (to orch when they are there already, else
// to custom), custom labels not in user are removed from both; a PATCH that adds and removes nothing
// drops reserved:init.
func (o *opLabels) patch(user []string) {
	var add, del []string
	for _, l := range user {
		if !slices.Contains(o.custom, l) {
			add = append(add, l)
		}
	}
	for _, l := range o.custom {
		if !slices.Contains(user, l) {
			del = append(del, l)
		}
	}
	drop := func(set []string, l string) []string {
		return slices.DeleteFunc(set, func(s string) bool { return s == l })
	}
	for _, l := range del {
		o.orch, o.custom = drop(o.orch, l), drop(o.custom, l)
	}
	for _, l := range add {
		if !slices.Contains(o.orch, l) {
			o.custom = append(o.custom, l)
		}
	}
	slices.Sort(o.custom)
	if len(add) == 0 && len(del) == 0 && slices.Contains(o.orch, initLabel) {
		o.orch = drop(append(o.orch, o.custom...), initLabel)
		o.orch = slices.Compact(slices.Sorted(slices.Values(o.orch)))
	}
}

// identityOnlyLocked keeps the labels the agent's label filter (pkg/labelsfilter, the agent's own code)
// lets into identities, as the agent does with the labels of an endpoint create and a PATCH; the
// others are information only. It filters only under the agent's default rules (see Config).
func (a *Agent) identityOnlyLocked(lbls []string) []string {
	if len(a.cfg.LabelPrefixes) > 0 || a.cfg.LabelPrefixFile != "" {
		return lbls
	}
	f, err := agent.NewLabelFilter(nil, "")
	if err != nil {
		return lbls
	}
	return slices.DeleteFunc(slices.Clone(lbls), func(l string) bool {
		source, kv, _ := strings.Cut(l, ":")
		k, v, _ := strings.Cut(kv, "=")
		return !f.Keep(source, k, v)
	})
}

// realizeLabelsLocked shows the endpoint's labels as the agent does (realized user labels: custom;
// security-relevant: all identity labels) and gives it the identity of its labels.
func (a *Agent) realizeLabelsLocked(ep *models.Endpoint) {
	o := a.labels[ep.ID]
	lbls := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(o.orch), o.custom...))))
	ep.Status.Labels = &models.LabelConfigurationStatus{
		Realized:         &models.LabelConfigurationSpec{User: slices.Clone(o.custom)},
		SecurityRelevant: lbls,
	}
	if slices.Equal(lbls, []string{initLabel}) {
		ep.Status.Identity = &models.Identity{ID: identityInit, Labels: lbls}
		return
	}
	key := strings.Join(lbls, ";")
	id, ok := a.identities[key]
	if !ok {
		id = firstIdentity + int64(len(a.identities))
		a.identities[key] = id
	}
	ep.Status.Identity = &models.Identity{ID: id, Labels: slices.Clone(lbls)}
}

// patchLabels sets the endpoint's user labels (PATCH /v1/endpoint/{id}/labels, body {"user":[...]})
// as opLabels.patch describes: 200; 404 without the endpoint; 500 for reserved labels, as the agent
// answers.
func (a *Agent) patchLabels(r *http.Request, body []byte) answer {
	var spec models.LabelConfigurationSpec
	if err := json.Unmarshal(body, &spec); err != nil {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("parsing request body: %v", err))
	}
	for _, l := range spec.User {
		if strings.HasPrefix(l, "reserved:") {
			return errorAnswer(http.StatusInternalServerError, fmt.Sprintf("Not allowed to add reserved labels: %s", l))
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ep, err := a.lookupLocked(r.PathValue("id"))
	if err != nil {
		return errorAnswer(http.StatusBadRequest, err.Error())
	}
	if ep == nil {
		return errorAnswer(http.StatusNotFound, fmt.Sprintf("Endpoint ID %s not found", r.PathValue("id")))
	}
	o := a.labels[ep.ID]
	if o == nil { // the host endpoint
		return errorAnswer(http.StatusBadRequest, "endpoint may not be associated reserved labels")
	}
	o.patch(slices.Compact(slices.Sorted(slices.Values(a.identityOnlyLocked(spec.User)))))
	a.realizeLabelsLocked(ep)
	return answer{code: http.StatusOK}
}
