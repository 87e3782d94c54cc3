package versions

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// unconfirmedMark follows a value that was not read at the pinned patch.
const unconfirmedMark = "?"

// Render writes the table as `make versions` shows it on the date of now:
// per row the minor, pinned patch, support status with its end-of-life date,
// whether Istio's own sources confirm the patch, the Kubernetes range, the
// Gateway API version and the default mark; then the development build, and
// notes with the evidence of every unconfirmed row.
func (t Table) Render(w io.Writer, now time.Time) error {
	var grid strings.Builder
	tw := tabwriter.NewWriter(&grid, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ISTIO\tPINNED\tSUPPORT (AS OF %s)\tCONFIRMED\tKUBERNETES\tGATEWAY API\tDEFAULT\n", now.UTC().Format(dateLayout))
	for _, r := range t.releases {
		mark := ""
		if r.Minor == t.defaultMinor {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Minor, r.Pinned, supportCell(r, now), confirmedCell(r),
			cell(r, FieldKubernetes, r.Kubernetes.String()), cell(r, FieldGatewayAPI, r.GatewayAPI), mark)
	}
	if d := t.dev; d != nil {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", DevSelector, d.Pinned, supportCell(*d, now), confirmedCell(*d),
			cell(*d, FieldKubernetes, d.Kubernetes.String()), cell(*d, FieldGatewayAPI, d.GatewayAPI), "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var b strings.Builder
	for _, line := range strings.SplitAfter(grid.String(), "\n") {
		if line != "" {
			b.WriteString(strings.TrimRight(line, " \n") + "\n")
		}
	}
	b.WriteString("\n* default when ISTIO_VERSION is unset. " + unconfirmedMark +
		" value not read at the pinned patch itself (see the row's source in " + versionsFileForUsers + ").\n")
	var unconfirmed []Release
	for _, r := range t.releases {
		if !r.Confirmed {
			unconfirmed = append(unconfirmed, r)
		}
	}
	if len(unconfirmed) > 0 {
		b.WriteString("\nUnconfirmed versions (preflight stops a run of one in seconds when its istioctl download is not found):\n")
		for _, r := range unconfirmed {
			text := r.Evidence
			if len(r.Unknown) > 0 {
				text += " Unknown fields: " + strings.Join(r.Unknown, ", ") + "."
			}
			wrap(&b, r.Pinned+": ", text)
		}
	}
	if d := t.dev; d != nil {
		b.WriteString("\nDevelopment build:\n")
		wrap(&b, DevSelector+": ", fmt.Sprintf("ISTIO_VERSION=%s or %s selects %s %s (branch %s), which reports and tags its images %q. Not a release: never the default, not in the nightly matrix unless asked for.",
			DevSelector, d.Istio, d.Module, d.ModuleVersion, d.Branch, d.Istio))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func supportCell(r Release, now time.Time) string {
	switch st := r.Status(now); {
	case st == StatusDevelopment:
		return "development build, not a release"
	case st == StatusEndOfLife:
		return "end-of-life since " + r.EOL.Format(dateLayout)
	case r.EOL.IsZero():
		return "supported (no end of life announced)"
	default:
		return "supported until " + r.EOL.Format(dateLayout)
	}
}

func confirmedCell(r Release) string {
	switch {
	case r.Development:
		return "no (not a release)"
	case r.Confirmed:
		return "yes"
	case r.NewestConfirmed == "":
		return "no (no " + r.Minor + " patch confirmed)"
	default:
		return "no (newest confirmed " + r.NewestConfirmed + ")"
	}
}

// cell renders a field's value: "unknown", or the value with the
// unconfirmed mark when it was not read at the pinned patch.
func cell(r Release, field, value string) string {
	switch {
	case r.IsUnknown(field):
		return "unknown"
	case r.IsUnconfirmed(field):
		return value + unconfirmedMark
	default:
		return value
	}
}

// wrap writes "  <head><text>" folded at about 100 columns, continuation
// lines indented under the text.
func wrap(b *strings.Builder, head, text string) {
	const width = 100
	indent := strings.Repeat(" ", 2+len(head))
	line := "  " + head
	start := true
	for _, word := range strings.Fields(text) {
		if !start && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent + word
			continue
		}
		if start {
			line += word
			start = false
		} else {
			line += " " + word
		}
	}
	b.WriteString(line + "\n")
}
