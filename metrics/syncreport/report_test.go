package syncreport_test

import (
	"bytes"
	"testing"

	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

// TestRoundTrip: what Write writes, Parse reads back whole, one line per report.
func TestRoundTrip(t *testing.T) {
	for _, want := range []syncreport.Stats{
		{},
		{Revision: 117, Refused: 2, Errors: 5, Failing: true},
		{Revision: 1<<62 + 1, Errors: 1<<64 - 1},
	} {
		var buf bytes.Buffer
		if err := syncreport.Write(&buf, want); err != nil {
			t.Fatalf("Write(%+v): %v", want, err)
		}
		line, rest, found := bytes.Cut(buf.Bytes(), []byte("\n"))
		if !found || len(rest) != 0 {
			t.Fatalf("Write(%+v) = %q, want one line", want, buf.Bytes())
		}
		got, ok := syncreport.Parse(line)
		if !ok || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, true", line, got, ok, want)
		}
	}
}

// TestParseWire: the line as it is on the wire, which a sync of another build may write; and lines that
// are not reports.
func TestParseWire(t *testing.T) {
	got, ok := syncreport.Parse([]byte(`{"revision":7,"refused":1,"errors":2,"failing":true}`))
	if want := (syncreport.Stats{Revision: 7, Refused: 1, Errors: 2, Failing: true}); !ok || got != want {
		t.Errorf("Parse = %+v, %v; want %+v, true", got, ok, want)
	}
	for _, line := range []string{
		`time="…" level=info msg="not a report"`,
		`{"refused":1}`, // no revision
		`{"revision":"7"}`,
		`[1]`,
		``,
	} {
		if got, ok := syncreport.Parse([]byte(line)); ok {
			t.Errorf("Parse(%q) = %+v, true; want not a report", line, got)
		}
	}
}
