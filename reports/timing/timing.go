// Package timing says where a run's time went, from Ginkgo's JSON report:
// the bounded waits that ran to their bound (on a cluster with no mesh the
// mesh waits do; a real mesh ends them early) against the suite's own work,
// which waits those were, and the containers on the critical path of a
// parallel run.
package timing

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Summary is a run's time, split.
type Summary struct {
	Wall     time.Duration // the suite's wall time
	Specs    int           // specs that ran
	Total    time.Duration // time in specs, summed over processes
	Met      time.Duration // bounded waits that ended when the state came
	TimedOut time.Duration // bounded waits that ran to their bound
	// Serial is the time in Serial specs: Ginkgo runs them on one process
	// after every parallel spec, so it adds to the wall time whole.
	Serial     time.Duration
	Containers []Container // longest first
	Bounds     []WaitKind  // the waits that ran to their bound, most time first
}

// Own is the suite's own work: the specs' time without the waits that ran
// to their bound. It predicts a real-mesh run.
func (s Summary) Own() time.Duration { return s.Total - s.TimedOut }

// Critical is the least wall time procs processes could reach: the
// parallel work spread evenly, then the Serial specs one after another, and
// never less than the longest parallel container (an Ordered container
// runs on one process).
func (s Summary) Critical(procs int) time.Duration {
	procs = max(procs, 1)
	var longest time.Duration
	for _, c := range s.Containers {
		if !c.Serial && c.Time > longest {
			longest = c.Time
		}
	}
	return max((s.Total-s.Serial)/time.Duration(procs), longest) + s.Serial
}

// Container is the time of one container's specs.
type Container struct {
	Name   string
	Time   time.Duration
	Serial bool
}

// WaitKind is one kind of wait (runinfo.WaitKind) that ran to its bound:
// how often and for how long in all.
type WaitKind struct {
	What  string
	Count int
	Time  time.Duration
}

// Summarize reads the reports.
func Summarize(reports []types.Report) Summary {
	var s Summary
	containers := map[string]*Container{}
	kinds := map[string]*WaitKind{}
	for _, r := range reports {
		s.Wall += r.RunTime
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStateSkipped {
				continue
			}
			s.Specs++
			s.Total += sr.RunTime
			if sr.IsSerial {
				s.Serial += sr.RunTime
			}
			name := strings.Join(sr.ContainerHierarchyTexts, " / ")
			c, ok := containers[name]
			if !ok {
				c = &Container{Name: name, Serial: sr.IsSerial}
				containers[name] = c
			}
			c.Time += sr.RunTime
			for _, e := range sr.ReportEntries {
				if e.Name != runinfo.EntryWaits {
					continue
				}
				var w runinfo.Waits
				if json.Unmarshal([]byte(e.Value.AsJSON), &w) != nil {
					continue
				}
				s.Met += seconds(w.MetSeconds)
				s.TimedOut += seconds(w.TimedOutSeconds)
				for _, b := range w.Bounds {
					k := runinfo.WaitKind(b.What)
					wk, ok := kinds[k]
					if !ok {
						wk = &WaitKind{What: k}
						kinds[k] = wk
					}
					wk.Count++
					wk.Time += seconds(b.Seconds)
				}
			}
		}
	}
	for _, c := range containers {
		s.Containers = append(s.Containers, *c)
	}
	sort.Slice(s.Containers, func(i, j int) bool {
		if s.Containers[i].Time != s.Containers[j].Time {
			return s.Containers[i].Time > s.Containers[j].Time
		}
		return s.Containers[i].Name < s.Containers[j].Name
	})
	for _, k := range kinds {
		s.Bounds = append(s.Bounds, *k)
	}
	sort.Slice(s.Bounds, func(i, j int) bool {
		if s.Bounds[i].Time != s.Bounds[j].Time {
			return s.Bounds[i].Time > s.Bounds[j].Time
		}
		return s.Bounds[i].What < s.Bounds[j].What
	})
	return s
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Write prints the summary: the split, the least wall time for 1, 2, 4 and
// 8 processes, the top longest containers and the top waits that ran to
// their bound.
func Write(out io.Writer, s Summary, top int) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	r := func(d time.Duration) time.Duration { return d.Round(time.Second) }
	fmt.Fprintf(w, "suite wall time\t%s\n", r(s.Wall))
	fmt.Fprintf(w, "time in %d specs (all processes)\t%s\n", s.Specs, r(s.Total))
	fmt.Fprintf(w, "  bounded waits that ran to their bound\t%s\t(mesh waits without a mesh: a real mesh ends them early)\n", r(s.TimedOut))
	fmt.Fprintf(w, "  the suite's own work\t%s\t(namespaces, fixtures, controls, evidence, waits that ended: %s)\n", r(s.Own()), r(s.Met))
	fmt.Fprintf(w, "  in Serial specs\t%s\t(one process, after the parallel specs)\n", r(s.Serial))
	var crit []string
	for _, p := range []int{1, 2, 4, 8} {
		crit = append(crit, fmt.Sprintf("%d: %s", p, r(s.Critical(p))))
	}
	fmt.Fprintf(w, "least wall time by processes\t%s\n", strings.Join(crit, ", "))
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nlongest containers (the critical path of a parallel run):")
	for i, c := range s.Containers {
		if i == top {
			break
		}
		serial := ""
		if c.Serial {
			serial = " [Serial]"
		}
		fmt.Fprintf(out, "  %6s  %s%s\n", r(c.Time), c.Name, serial)
	}
	if len(s.Bounds) > 0 {
		fmt.Fprintln(out, "\nwaits that ran to their bound (time, count, what):")
		for i, b := range s.Bounds {
			if i == top {
				break
			}
			fmt.Fprintf(out, "  %6s  %3d×  %s\n", r(b.Time), b.Count, b.What)
		}
	}
	return nil
}
