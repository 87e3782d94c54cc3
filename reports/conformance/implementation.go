package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// placeholderWords are values that stand for "fill me in".
var placeholderWords = map[string]bool{
	"todo": true, "tbd": true, "tba": true, "fixme": true, "xxx": true, "example": true,
	"changeme": true, "change-me": true, "placeholder": true, "n/a": true, "na": true,
	"none": true, "unknown": true, "foo": true, "bar": true, "test": true,
}

var (
	placeholderRE = regexp.MustCompile(`(?i)^(<.*>|\{\{.*\}\}|\$\{.*\}|your[-_ ].*|todo[:\s].*|tbd[:\s].*)$`)
	exampleHostRE = regexp.MustCompile(`(?i)(^|[@./])example\.(com|org|net)\b|(^|[@./])[a-z0-9-]+\.example\b|\blocalhost\b`)
)

// Placeholder says why s looks like a placeholder, or "" when it does not.
func Placeholder(s string) string {
	v := strings.TrimSpace(s)
	switch {
	case v == "":
		return "it is empty"
	case placeholderWords[strings.ToLower(v)]:
		return fmt.Sprintf("%q is a placeholder", v)
	case placeholderRE.MatchString(v):
		return fmt.Sprintf("%q is a placeholder", v)
	case exampleHostRE.MatchString(v):
		return fmt.Sprintf("%q is an example address", v)
	}
	return ""
}

// CheckImplementation checks the mode and, in vendor mode, that every field
// of the implementation block is filled with a real value. The error names
// each field that is missing or a placeholder.
func CheckImplementation(mode string, impl Implementation) error {
	switch mode {
	case ModeDefault, "":
		return nil
	case ModeVendor:
	default:
		return fmt.Errorf("report mode %q: want %q or %q", mode, ModeDefault, ModeVendor)
	}
	var errs []error
	field := func(name, v string) {
		if why := Placeholder(v); why != "" {
			errs = append(errs, fmt.Errorf("implementation.%s: %s", name, why))
		}
	}
	field("organization", impl.Organization)
	field("project", impl.Project)
	field("url", impl.URL)
	field("version", impl.Version)
	if Placeholder(impl.URL) == "" {
		if u, err := url.Parse(impl.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("implementation.url: %q is not an http(s) URL", impl.URL))
		}
	}
	if len(impl.Contact) == 0 {
		errs = append(errs, errors.New("implementation.contact: it is empty; list at least one person or team to ask"))
	}
	for i, c := range impl.Contact {
		field(fmt.Sprintf("contact[%d]", i), c)
	}
	if len(errs) > 0 {
		return fmt.Errorf("vendor mode needs a complete implementation block (set it in the config file): %w", errors.Join(errs...))
	}
	return nil
}
