package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// State is the result of one step.
type State string

// The results a step can have.
const (
	Pass          State = "pass"
	Fail          State = "fail"
	NotApplicable State = "not applicable"
)

// Step is one check of the debug flow.
type Step struct {
	// Number is the step's place in the flow: 0 is Kubernetes itself, 1–6
	// are the seed's six questions.
	Number int `json:"step"`
	// Check is the question the step answers.
	Check string `json:"check"`
	State State  `json:"result"`
	// Evidence is what was seen, one fact a line.
	Evidence []string `json:"evidence"`
	// Next is what to look at next (commands or doc pointers); empty when
	// there is nothing to do.
	Next []string `json:"next,omitempty"`
}

// Report is the judged debug flow for one namespace.
type Report struct {
	Namespace     string `json:"namespace"`
	MeshNamespace string `json:"meshNamespace"`
	Server        string `json:"server,omitempty"`
	Steps         []Step `json:"steps"`
}

// Failed reports whether any step failed (the command's exit status).
func (r Report) Failed() bool {
	for _, s := range r.Steps {
		if s.State == Fail {
			return true
		}
	}
	return false
}

// JSON is the report as indented JSON, for the failure bundle.
func (r Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// Widths at which Render wraps evidence and next lines, so one long
// status message does not push the next column off the screen.
const (
	evidenceWidth = 100
	nextWidth     = 80
)

// Render writes the report as a table (step, check, result, evidence,
// next), one evidence line and one next line a row (long ones wrapped onto
// indented rows), then a summary line.
func (r Report) Render(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tCHECK\tRESULT\tEVIDENCE\tNEXT")
	for _, s := range r.Steps {
		evidence, next := wrapAll(s.Evidence, evidenceWidth), wrapAll(s.Next, nextWidth)
		rows := max(len(evidence), len(next), 1)
		for i := range rows {
			step, check, result := "", "", ""
			if i == 0 {
				step, check, result = strconv.Itoa(s.Number), s.Check, string(s.State)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", step, check, result, at(evidence, i), at(next, i))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.summary())
	return err
}

func (r Report) summary() string {
	count := map[State]int{}
	var failed []string
	for _, s := range r.Steps {
		count[s.State]++
		if s.State == Fail {
			failed = append(failed, strconv.Itoa(s.Number))
		}
	}
	s := fmt.Sprintf("namespace %s (mesh namespace %s): %d passed, %d failed, %d not applicable",
		r.Namespace, r.MeshNamespace, count[Pass], count[Fail], count[NotApplicable])
	if len(failed) > 0 {
		s += "; failed steps: " + strings.Join(failed, ", ")
	}
	return s
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// cell keeps a table cell on one line: tabs and newlines would break the
// columns.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// wrapAll wraps each line at width on spaces; continuation rows are
// indented by two spaces.
func wrapAll(lines []string, width int) []string {
	var out []string
	for _, l := range lines {
		out = append(out, wrap(cell(l), width)...)
	}
	return out
}

func wrap(s string, width int) []string {
	var out []string
	prefix := ""
	for len([]rune(prefix+s)) > width {
		limit := width - len([]rune(prefix))
		r := []rune(s)
		cut := strings.LastIndex(string(r[:limit]), " ")
		if cut <= 0 {
			// One long word (a URL, a command): cut at the next space instead.
			next := strings.Index(s, " ")
			if next < 0 {
				break
			}
			cut = next
		}
		out = append(out, prefix+s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
		prefix = "  "
	}
	return append(out, prefix+s)
}
