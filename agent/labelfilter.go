package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	ciliumlabels "github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/labelsfilter"
)

// ErrLabelFilterChanged is returned when the agent reports other label rules than those the filter was
// built with: pkg/labelsfilter keeps its rules in package state, set once per process.
var ErrLabelFilterChanged = errors.New("cilium-agent's label rules changed since the plugin started: restart the plugin to follow them")

// labelFilterState is the one configuration of pkg/labelsfilter in this process.
var labelFilterState struct {
	mu       sync.Mutex
	done     bool
	prefixes []string // guarded by mu
	file     string   // guarded by mu
	err      error    // guarded by mu
}

// LabelFilter is cilium-agent's identity label filter: the agent's own code (pkg/labelsfilter) with
// the agent's own rules (its --labels and --label-prefix-file, read from GET /config). A label it
// rejects is kept by the agent as information only, out of the identity: an endpoint created with
// nothing else fails ("no valid labels provided"), and a label sync that asked for it would patch again
// forever.
type LabelFilter struct{}

// NewLabelFilter builds the filter for the agent's rules. pkg/labelsfilter holds them in package
// state, so they are set once per process: the first call sets them, later calls with the same rules
// return the same filter, and calls with other rules return the filter of the first ones with
// ErrLabelFilterChanged. A rule file the plugin cannot read (it is a path on the agent's host) fails
// the first call; the plugin then filters by its own rules only.
func NewLabelFilter(prefixes []string, file string) (*LabelFilter, error) {
	s := &labelFilterState
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done, s.prefixes, s.file = true, slices.Clone(prefixes), file
		// The library logs every rule at Info; the plugin says what matters itself.
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		if err := labelsfilter.ParseLabelPrefixCfg(quiet, prefixes, nil, file); err != nil {
			s.err = fmt.Errorf("cilium-agent's label rules (--labels %q, --label-prefix-file %q): %w", prefixes, file, err)
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	if !slices.Equal(s.prefixes, prefixes) || s.file != file {
		return &LabelFilter{}, fmt.Errorf("%w (was --labels %q --label-prefix-file %q, now %q %q)",
			ErrLabelFilterChanged, s.prefixes, s.file, prefixes, file)
	}
	return &LabelFilter{}, nil
}

// Keep tells whether the agent keeps the label source:key=value in an endpoint's identity.
func (*LabelFilter) Keep(source, key, value string) bool {
	l := ciliumlabels.NewLabel(key, value, source)
	id, _ := labelsfilter.Filter(ciliumlabels.Labels{l.Key: l})
	return len(id) == 1
}
