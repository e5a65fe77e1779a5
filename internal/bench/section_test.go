package bench

import (
	"strings"
	"testing"
)

func TestSplice(t *testing.T) {
	doc := "# Benchmarks\n\nside by side\n"
	once := Splice(doc, "first run\n")
	if !strings.HasPrefix(once, doc+"\n"+sectionBegin) || !strings.Contains(once, "first run\n"+sectionEnd) {
		t.Fatalf("appended:\n%s", once)
	}
	twice := Splice(once+"after\n", "second run")
	if strings.Contains(twice, "first run") || !strings.Contains(twice, "second run\n"+sectionEnd+"\nafter\n") {
		t.Fatalf("replaced:\n%s", twice)
	}
	if strings.Count(twice, sectionBegin) != 1 {
		t.Fatalf("two sections:\n%s", twice)
	}
}
