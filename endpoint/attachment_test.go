package endpoint

import "testing"

func TestAttachmentRoundTrip(t *testing.T) {
	eid := MustParseID(sha256Hex("attachment"))
	cid, ifName := Attachment(eid)
	if cid != eid.String() || ifName != NamesFor(eid).Container {
		t.Fatalf("Attachment = %q %q", cid, ifName)
	}
	if got, ok := ParseAttachment(cid, ifName); !ok || got != eid {
		t.Fatalf("ParseAttachment(Attachment(eid)) = %v, %t; want %v", got, ok, eid)
	}
	other := MustParseID(sha256Hex("other"))
	for _, tt := range []struct{ cid, ifName string }{
		{cid, NamesFor(other).Container}, // another endpoint's interface name
		{cid, ""},                        // no interface name: not the plugin's
		{"host", "eth0"},                 // the host endpoint, a CNI plugin's
		{cid[:63], ifName},               // not an endpoint ID
	} {
		if got, ok := ParseAttachment(tt.cid, tt.ifName); ok {
			t.Errorf("ParseAttachment(%q, %q) = %v, want none", tt.cid, tt.ifName, got)
		}
	}
}
