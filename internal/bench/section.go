package bench

import (
	"bytes"
	"strings"
)

// The markers around the bench's section in BENCHMARKS.md; the rest of the file (the side by side of
// `bench upstream` on Docker 20.10, between its own markers, and the hand-written sections) is kept as it is.
const (
	sectionBegin = "<!-- begin: make bench, cmd/bench -->"
	sectionEnd   = "<!-- end: make bench, cmd/bench -->"
)

// SectionTitle heads the bench's section.
const SectionTitle = "## At scale, on the current pair"

// Splice returns doc with its bench section replaced by section, or with section appended when doc has
// none.
func Splice(doc, section string) string {
	block := sectionBegin + "\n" + SectionTitle + "\n\n" + strings.TrimRight(section, "\n") + "\n" + sectionEnd + "\n"
	i, j := strings.Index(doc, sectionBegin), strings.Index(doc, sectionEnd)
	if i >= 0 && j > i {
		return doc[:i] + block + strings.TrimPrefix(doc[j+len(sectionEnd):], "\n")
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	if doc != "" {
		doc += "\n"
	}
	return doc + block
}

// Section is the report as the body of the bench's section.
func (r *Report) Section() string {
	var b bytes.Buffer
	r.Markdown(&b)
	return b.String()
}
