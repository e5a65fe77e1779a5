package dirsync

// The agent reads only file names that are DNS-1123 subdomains. Its check is apimachinery's
// validation.IsDNS1123Subdomain; the plugin daemon links this package but not apimachinery, so the
// check is repeated here (dnsname_test.go holds it equal to apimachinery's).

const dns1123SubdomainMaxLength = 253

const dns1123SubdomainError = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " +
	"'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for " +
	`validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`

// dns1123Subdomain returns why s is not a DNS-1123 subdomain (at most 253 bytes of dot-separated
// labels of lowercase letters, digits and '-', each starting and ending with a letter or digit), in
// apimachinery's words; none when it is one.
func dns1123Subdomain(s string) []string {
	var reasons []string
	if len(s) > dns1123SubdomainMaxLength {
		reasons = append(reasons, "must be no more than 253 characters")
	}
	if !isDNS1123Subdomain(s) {
		reasons = append(reasons, dns1123SubdomainError)
	}
	return reasons
}

func isDNS1123Subdomain(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if !alnum(s[i]) && s[i] != '-' {
				return false
			}
			continue
		}
		if i == start || !alnum(s[start]) || !alnum(s[i-1]) { // an empty label, or '-' at one end
			return false
		}
		start = i + 1
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

const dns1123LabelMaxLength = 63

const dns1123LabelError = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must " +
	"start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
	`'[a-z0-9]([-a-z0-9]*[a-z0-9])?')`

// dns1123Label returns why s is not a DNS-1123 label (at most 63 bytes of lowercase letters, digits and
// '-', starting and ending with a letter or digit), in apimachinery's words (IsDNS1123Label, its double
// space included); none when it is one.
func dns1123Label(s string) []string {
	var reasons []string
	if len(s) > dns1123LabelMaxLength {
		reasons = append(reasons, "must be no more than 63 characters")
	}
	if !isDNS1123Label(s) {
		if isDNS1123Subdomain(s) {
			reasons = append(reasons, "must not contain dots") // a subdomain that is no label has dots
		} else {
			reasons = append(reasons, dns1123LabelError)
		}
	}
	return reasons
}

func isDNS1123Label(s string) bool {
	for i := 0; i < len(s); i++ {
		if !alnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return s != "" && alnum(s[0]) && alnum(s[len(s)-1])
}
