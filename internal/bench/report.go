package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Row is one measure of the report: its value, its goal, and whether the goal holds (with the
// measurement that says why when it does not).
type Row struct {
	Measure string
	Value   string
	Goal    string
	Verdict string
}

// Report is one run's rows and what the run was.
type Report struct {
	Header []string // the run: date, machine, versions, scales
	Rows   []Row
	Notes  []string // how each row is measured
}

func (r *Report) add(row Row) { r.Rows = append(r.Rows, row) }

// verdict is "holds" or "does not hold: why".
func verdict(ok bool, why string) string {
	if ok {
		return "holds"
	}
	return "**does not hold**: " + why
}

// ms formats seconds as milliseconds.
func ms(s float64) string {
	if math.IsNaN(s) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms", s*1000)
}

// Markdown writes the report as a section of BENCHMARKS.md.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "%s\n\n", strings.Join(r.Header, "\n"))
	fmt.Fprintln(w, "| measure | value | goal | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, x := range r.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", x.Measure, x.Value, x.Goal, x.Verdict)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}
