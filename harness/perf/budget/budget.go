// Package budget reads the budgets file of the perf specs: the latency and
// resource budgets, grouped in named profiles, and the load presets every
// trial runs. The default file is embedded (budgets.yaml, every number with
// its source); a user's own replaces it as a whole (LATENCY_BUDGETS=path).
//
// Validation is strict and fast: an unknown key, a missing, zero or
// negative budget, an unknown profile or preset and a load the cluster
// cannot carry are errors naming the key path, returned before any cluster
// work.
package budget

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

//go:embed budgets.yaml
var defaultYAML []byte

// DefaultSource names the embedded file in messages and reports.
const DefaultSource = "embedded budgets.yaml"

// Latency modes: the keys under a profile's latency (the mode judged
// against no mesh).
const (
	ModeL4       = "l4"
	ModeWaypoint = "waypoint"
)

// Components: the keys under a profile's resources.
const (
	ComponentZtunnel  = "ztunnel"
	ComponentWaypoint = "waypoint"
)

// Resource quantities: the keys under a component.
const (
	QuantityCPU    = "cpuPer1000rps" // vCPU per 1000 requests per second
	QuantityMemory = "memoryMiB"     // working set, MiB
)

// Restart quantities: the keys under a component of a profile's restart
// budgets (a rolling restart of the component under traffic, the mechanism
// of its in-place upgrade).
const (
	// QuantityNewConnectionFailures is the share (0 to 1) of the new
	// connections started during the rollout that failed.
	QuantityNewConnectionFailures = "newConnectionFailureRate"
)

// Percentiles are the latency percentiles a budget may name, in order.
var Percentiles = []string{"p50", "p90", "p99"}

var (
	modes      = []string{ModeL4, ModeWaypoint}
	components = []string{ComponentZtunnel, ComponentWaypoint}
	quantities = []string{QuantityCPU, QuantityMemory}
	restarted  = []string{ComponentZtunnel}
	disruption = []string{QuantityNewConnectionFailures}
)

// Bounds of a load preset. A load outside them is refused before any
// cluster work.
const (
	// MaxQPS bounds the request rate. The probe's fortio client and server
	// each run in one pod on a small (kind) node; beyond a few thousand
	// requests per second they saturate their CPU and the latency measured
	// is the load generator's queue, not the mesh. Istio's published
	// figures stop at 1500 rps.
	MaxQPS = 5000
	// MaxRequestsPerTrial bounds qps × trialSeconds (and qps ×
	// warmupSeconds): 200 s at Istio's 1000 qps. The lab preset's 148 000
	// fits; more makes one procedure run for hours and fills the nodes'
	// conntrack and the servers' logs with nothing the interval needs.
	MaxRequestsPerTrial = 200_000
	// MinRequestsPerTrial: a p99 from fewer than 1000 requests rests on
	// fewer than 10 of them.
	MinRequestsPerTrial = 1000
	// MaxResolutionMs is the coarsest histogram resolution accepted
	// (fortio's -r, the width of its lowest buckets): 10 µs.
	MaxResolutionMs = 0.01
	// MinRounds: the paired interval needs n−1 ≥ 2 degrees of freedom to be
	// of any use (t_{0.975,1} = 12.7, t_{0.975,2} = 4.3).
	MinRounds = 3
	// MaxRounds bounds the rounds of one procedure.
	MaxRounds = 100
	// MaxConnections: Istio's benchmark runs 1 to 64 connections.
	MaxConnections = 64
	// MaxPayloadBytes: 1 MiB; the figures compared are for 1 KB.
	MaxPayloadBytes = 1 << 20
	// MinTCPOps: a p99 from fewer than 1000 round trips or connections
	// rests on fewer than 10 of them.
	MinTCPOps = 1000
	// MaxTCPRoundTrips bounds the round trips of one tcp-rr trial.
	MaxTCPRoundTrips = 200_000
	// MinResourceWarmupSeconds: the kubelet's cAdvisor stats can be
	// MaxStatsAge (15 s) old when scraped, so a resource trial starts after
	// at least that long at its load: the stats the first scrape returns are
	// then of the same mode under the same load.
	MinResourceWarmupSeconds = 15
	// MinResourceSeconds: a resource trial longer than the stats' age by 5 s
	// is at least 5 s of fresh stats between the two scrapes.
	MinResourceSeconds = 20
	// MaxTCPConnects bounds the connections of one tcp-crr trial: each
	// leaves a socket in TIME_WAIT for 60 s on the client, whose default
	// ephemeral port range (32768-60999) holds 28 232.
	MaxTCPConnects = 20_000
)

// Per-operation times LatencyDuration assumes for the TCP trials, which run
// a number of operations rather than a duration: assumed upper figures for
// one cluster (not measured here), so the estimate is meant as an upper one.
const (
	AssumedRoundTrip = time.Millisecond
	AssumedConnect   = 2 * time.Millisecond
)

// File is a parsed, validated budgets file.
type File struct {
	Source   string             // the path, or DefaultSource
	Profile  string             // the default profile's name
	Load     string             // the default load preset's name
	Profiles map[string]Profile // by name
	Loads    map[string]Load    // by name
}

// Profile is one named set of budgets.
type Profile struct {
	// Latency: mode (ModeL4, ModeWaypoint) → percentile ("p50", "p90",
	// "p99") → added latency in ms.
	Latency map[string]map[string]float64
	// Resources: component (ComponentZtunnel, ComponentWaypoint) → quantity
	// (QuantityCPU, QuantityMemory) → budget.
	Resources map[string]map[string]float64
	// Restart: component (ComponentZtunnel) → quantity
	// (QuantityNewConnectionFailures) → budget.
	Restart map[string]map[string]float64
}

// RestartBudget returns the budget for a quantity of a component's rolling
// restart; ok is false when the profile has none.
func (p Profile) RestartBudget(component, quantity string) (v float64, ok bool) {
	v, ok = p.Restart[component][quantity]
	return v, ok
}

// LatencyBudget returns the budget for mode at percentile; ok is false when
// the profile has none (reported as "no budget in this profile").
func (p Profile) LatencyBudget(mode, percentile string) (ms float64, ok bool) {
	ms, ok = p.Latency[mode][percentile]
	return ms, ok
}

// ResourceBudget returns the budget for a component's quantity; ok is false
// when the profile has none.
func (p Profile) ResourceBudget(component, quantity string) (v float64, ok bool) {
	v, ok = p.Resources[component][quantity]
	return v, ok
}

// Load is one load preset: what every trial of a procedure runs.
type Load struct {
	QPS           float64 // requests per second, fortio -qps (uniform, no catch-up)
	Connections   int     // fortio -c
	PayloadBytes  int     // request body; 0 = GET
	TrialSeconds  float64 // measured part of an HTTP trial
	WarmupSeconds float64 // discarded warm-up after each mode switch
	Rounds        int     // rounds of the procedure
	ResolutionMs  float64 // histogram resolution (fortio -r, in ms)
	TCPRoundTrips int     // round trips of a tcp-rr trial, on one connection
	TCPConnects   int     // connections of a tcp-crr trial
	// ResourceWarmupSeconds and ResourceSeconds shape the resource trial: one
	// HTTP trial at QPS per arm that reads CPU and memory, after a warm-up.
	ResourceWarmupSeconds float64
	ResourceSeconds       float64
}

// Trial is the measured length of an HTTP trial.
func (l Load) Trial() time.Duration { return seconds(l.TrialSeconds) }

// Warmup is the length of the discarded warm-up after each mode switch.
func (l Load) Warmup() time.Duration { return seconds(l.WarmupSeconds) }

// ResourceWarmup is the warm-up before a resource trial.
func (l Load) ResourceWarmup() time.Duration { return seconds(l.ResourceWarmupSeconds) }

// ResourceTrial is the measured length of a resource trial.
func (l Load) ResourceTrial() time.Duration { return seconds(l.ResourceSeconds) }

// RequestsPerTrial is qps × trialSeconds.
func (l Load) RequestsPerTrial() float64 { return l.QPS * l.TrialSeconds }

// LatencyDuration is the trial time of the latency rounds of one procedure
// over arms arms, of which tcpArms also run the tcp-rr and tcp-crr trials:
// per round and arm one warm-up and one HTTP trial, per TCP arm the TCP
// trials at the assumed AssumedRoundTrip and AssumedConnect (an upper
// estimate). Mode switches are not included.
func (l Load) LatencyDuration(arms, tcpArms int) time.Duration {
	http := time.Duration(arms) * (l.Warmup() + l.Trial())
	tcp := time.Duration(tcpArms) * (time.Duration(l.TCPRoundTrips)*AssumedRoundTrip + time.Duration(l.TCPConnects)*AssumedConnect)
	return time.Duration(l.Rounds) * (http + tcp)
}

// EstimatedDuration is LatencyDuration plus one resource trial (with its
// warm-up) for each of resourceArms arms: the trial time of one whole
// procedure, to print before it starts.
func (l Load) EstimatedDuration(arms, tcpArms, resourceArms int) time.Duration {
	return l.LatencyDuration(arms, tcpArms) + time.Duration(resourceArms)*(l.ResourceWarmup()+l.ResourceTrial())
}

// Shape is the load as the perf data records it.
func (l Load) Shape(preset string) runinfo.LoadShape {
	return runinfo.LoadShape{
		Preset: preset, QPS: l.QPS, Connections: l.Connections, PayloadBytes: l.PayloadBytes,
		TrialSeconds: l.TrialSeconds, WarmupSeconds: l.WarmupSeconds, Rounds: l.Rounds, ResolutionMs: l.ResolutionMs,
	}
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// Selection is the profile and load preset a run applies.
type Selection struct {
	Source      string // the file: a path or DefaultSource
	ProfileName string
	Profile     Profile
	LoadName    string
	Load        Load
}

// Select reads the budgets file at path ("" = the embedded default) and
// selects a profile and a load preset ("" = the file's defaults).
func Select(path, profile, preset string) (Selection, error) {
	f, err := Read(path)
	if err != nil {
		return Selection{}, err
	}
	return f.Select(profile, preset)
}

// Read reads and validates the budgets file at path ("" = the embedded
// default).
func Read(path string) (File, error) {
	if path == "" {
		return Default()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("budgets file: %w; LATENCY_BUDGETS must name a readable YAML file (or be unset for the defaults)", err)
	}
	return Parse(data, path)
}

// Default returns the embedded budgets file.
func Default() (File, error) { return Parse(defaultYAML, DefaultSource) }

// Select picks a profile and a load preset by name; "" picks the file's
// default.
func (f File) Select(profile, preset string) (Selection, error) {
	if profile == "" {
		profile = f.Profile
	}
	if preset == "" {
		preset = f.Load
	}
	var errs []error
	p, ok := f.Profiles[profile]
	if !ok {
		errs = append(errs, fmt.Errorf("budget profile %q is not in %s; it has %s", profile, f.Source, strings.Join(sortedKeys(f.Profiles), ", ")))
	}
	l, ok := f.Loads[preset]
	if !ok {
		errs = append(errs, fmt.Errorf("load preset %q is not in %s; it has %s", preset, f.Source, strings.Join(sortedKeys(f.Loads), ", ")))
	}
	if len(errs) > 0 {
		return Selection{}, errors.Join(errs...)
	}
	return Selection{Source: f.Source, ProfileName: profile, Profile: p, LoadName: preset, Load: l}, nil
}

// The documents as decoded: pointers tell a missing key from a zero.
type fileDoc struct {
	Profile  *string                    `json:"profile"`
	Load     *string                    `json:"load"`
	Profiles map[string]json.RawMessage `json:"profiles"`
	Loads    map[string]json.RawMessage `json:"loads"`
}

type profileDoc struct {
	Latency   map[string]map[string]*float64 `json:"latency"`
	Resources map[string]map[string]*float64 `json:"resources"`
	Restart   map[string]map[string]*float64 `json:"restart"`
}

type loadDoc struct {
	QPS           *float64 `json:"qps"`
	Connections   *int     `json:"connections"`
	PayloadBytes  *int     `json:"payloadBytes"`
	TrialSeconds  *float64 `json:"trialSeconds"`
	WarmupSeconds *float64 `json:"warmupSeconds"`
	Rounds        *int     `json:"rounds"`
	ResolutionMs  *float64 `json:"resolutionMs"`
	TCPRoundTrips *int     `json:"tcpRoundTrips"`
	TCPConnects   *int     `json:"tcpConnects"`

	ResourceWarmupSeconds *float64 `json:"resourceWarmupSeconds"`
	ResourceSeconds       *float64 `json:"resourceSeconds"`
}

// Parse validates a budgets file; source names it in errors. Every problem
// is reported, each with its key path (e.g. "loads.short.qps").
func Parse(data []byte, source string) (File, error) {
	fail := func(err error) (File, error) {
		return File{}, fmt.Errorf("budgets file %s: %w", source, err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fail(fmt.Errorf("not valid YAML: %w", err))
	}
	var doc fileDoc
	if err := decodeStrict(js, &doc); err != nil {
		return fail(keyError("the top level", err, "profile", "load", "profiles", "loads"))
	}
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	f := File{Source: source, Profiles: map[string]Profile{}, Loads: map[string]Load{}}

	if len(doc.Profiles) == 0 {
		add("profiles: missing or empty; define at least one profile of budgets")
	}
	for _, name := range sortedKeys(doc.Profiles) {
		p, perrs := parseProfile("profiles."+name, doc.Profiles[name])
		errs = append(errs, perrs...)
		f.Profiles[name] = p
	}
	if len(doc.Loads) == 0 {
		add("loads: missing or empty; define at least one load preset")
	}
	for _, name := range sortedKeys(doc.Loads) {
		l, lerrs := parseLoad("loads."+name, doc.Loads[name])
		errs = append(errs, lerrs...)
		f.Loads[name] = l
	}
	switch {
	case doc.Profile == nil || *doc.Profile == "":
		add("profile: missing; name the default profile (one of %s)", strings.Join(sortedKeys(doc.Profiles), ", "))
	case doc.Profiles[*doc.Profile] == nil:
		add("profile: %q is not under profiles (%s)", *doc.Profile, strings.Join(sortedKeys(doc.Profiles), ", "))
	default:
		f.Profile = *doc.Profile
	}
	switch {
	case doc.Load == nil || *doc.Load == "":
		add("load: missing; name the default load preset (one of %s)", strings.Join(sortedKeys(doc.Loads), ", "))
	case doc.Loads[*doc.Load] == nil:
		add("load: %q is not under loads (%s)", *doc.Load, strings.Join(sortedKeys(doc.Loads), ", "))
	default:
		f.Load = *doc.Load
	}
	if len(errs) > 0 {
		return fail(errors.Join(errs...))
	}
	return f, nil
}

func parseProfile(path string, raw json.RawMessage) (Profile, []error) {
	var doc profileDoc
	if err := decodeStrict(raw, &doc); err != nil {
		return Profile{}, []error{keyError(path, err, "latency", "resources", "restart")}
	}
	var errs []error
	var p Profile
	var n int
	add := func(m map[string]map[string]float64, es []error) map[string]map[string]float64 {
		errs = append(errs, es...)
		for _, vals := range m {
			n += len(vals)
		}
		return m
	}
	p.Latency = add(section(path+".latency", "mode", doc.Latency, modes, Percentiles, "ms of added latency"))
	p.Resources = add(section(path+".resources", "component", doc.Resources, components, quantities, "(vCPU per 1000 rps or MiB)"))
	p.Restart = add(section(path+".restart", "component", doc.Restart, restarted, disruption, "(a share of new connections)"))
	for c, vals := range p.Restart {
		for k, v := range vals {
			if v > 1 {
				errs = append(errs, fmt.Errorf("%s.restart.%s.%s: budget %g is a share of new connections: want at most 1", path, c, k, v))
			}
		}
	}
	if n == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no budgets; give latency, resources and/or restart budgets", path))
	}
	return p, errs
}

// section checks one section of a profile (latency, resources, restart):
// each entry a known one of names (what they are: "mode", "component"),
// each holding budgets of keys.
func section(path, what string, in map[string]map[string]*float64, names, keys []string, unit string) (map[string]map[string]float64, []error) {
	var errs []error
	out := map[string]map[string]float64{}
	for _, name := range sortedKeys(in) {
		at := path + "." + name
		if !slices.Contains(names, name) {
			errs = append(errs, fmt.Errorf("%s: unknown %s %q; the %ss are %s", at, what, name, what, strings.Join(names, ", ")))
			continue
		}
		vals, verrs := budgets(at, in[name], keys, unit)
		errs = append(errs, verrs...)
		out[name] = vals
	}
	return out, errs
}

// budgets checks one group of budgets: known keys, each a number > 0.
func budgets(path string, in map[string]*float64, keys []string, unit string) (map[string]float64, []error) {
	var errs []error
	out := map[string]float64{}
	if len(in) == 0 {
		errs = append(errs, fmt.Errorf("%s: empty; give at least one of %s, or remove it (no budget)", path, strings.Join(keys, ", ")))
	}
	for _, k := range sortedKeys(in) {
		at := path + "." + k
		v := in[k]
		switch {
		case !slices.Contains(keys, k):
			errs = append(errs, fmt.Errorf("%s: unknown key %q; the keys are %s", at, k, strings.Join(keys, ", ")))
		case v == nil:
			errs = append(errs, fmt.Errorf("%s: missing value; give a budget > 0 %s, or remove the key (no budget)", at, unit))
		case !(*v > 0) || math.IsInf(*v, 0):
			errs = append(errs, fmt.Errorf("%s: budget %g must be a finite number > 0 %s", at, *v, unit))
		default:
			out[k] = *v
		}
	}
	return out, errs
}

func parseLoad(path string, raw json.RawMessage) (Load, []error) {
	var doc loadDoc
	if err := decodeStrict(raw, &doc); err != nil {
		return Load{}, []error{keyError(path, err, "qps", "connections", "payloadBytes", "trialSeconds", "warmupSeconds",
			"rounds", "resolutionMs", "tcpRoundTrips", "tcpConnects", "resourceWarmupSeconds", "resourceSeconds")}
	}
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, key, fmt.Sprintf(format, a...)))
	}
	num := func(key string, p *float64) float64 {
		if p == nil {
			add(key, "missing")
			return math.NaN()
		}
		return *p
	}
	integer := func(key string, p *int) int {
		if p == nil {
			add(key, "missing")
			return -1
		}
		return *p
	}
	l := Load{
		QPS: num("qps", doc.QPS), Connections: integer("connections", doc.Connections),
		PayloadBytes: integer("payloadBytes", doc.PayloadBytes), TrialSeconds: num("trialSeconds", doc.TrialSeconds),
		WarmupSeconds: num("warmupSeconds", doc.WarmupSeconds), Rounds: integer("rounds", doc.Rounds),
		ResolutionMs: num("resolutionMs", doc.ResolutionMs), TCPRoundTrips: integer("tcpRoundTrips", doc.TCPRoundTrips),
		TCPConnects:           integer("tcpConnects", doc.TCPConnects),
		ResourceWarmupSeconds: num("resourceWarmupSeconds", doc.ResourceWarmupSeconds),
		ResourceSeconds:       num("resourceSeconds", doc.ResourceSeconds),
	}
	if doc.QPS != nil && !(l.QPS > 0 && l.QPS <= MaxQPS) {
		add("qps", "%g is outside (0, %d]: beyond that the probe's client and server measure their own queue, not the mesh", l.QPS, MaxQPS)
	}
	if doc.Connections != nil && (l.Connections < 1 || l.Connections > MaxConnections) {
		add("connections", "%d is outside 1..%d", l.Connections, MaxConnections)
	}
	if doc.PayloadBytes != nil && (l.PayloadBytes < 0 || l.PayloadBytes > MaxPayloadBytes) {
		add("payloadBytes", "%d is outside 0..%d (1 MiB)", l.PayloadBytes, MaxPayloadBytes)
	}
	if doc.TrialSeconds != nil && !(l.TrialSeconds > 0) {
		add("trialSeconds", "%g must be > 0", l.TrialSeconds)
	}
	if doc.WarmupSeconds != nil && !(l.WarmupSeconds > 0) {
		add("warmupSeconds", "%g must be > 0: every mode switch is followed by a discarded warm-up", l.WarmupSeconds)
	}
	if doc.Rounds != nil && (l.Rounds < MinRounds || l.Rounds > MaxRounds) {
		add("rounds", "%d is outside %d..%d (the paired interval over fewer than %d rounds is too wide to judge a budget)",
			l.Rounds, MinRounds, MaxRounds, MinRounds)
	}
	if doc.ResolutionMs != nil && !(l.ResolutionMs > 0 && l.ResolutionMs <= MaxResolutionMs) {
		add("resolutionMs", "%g is outside (0, %g]: a percentile must come from a histogram with 10 µs resolution or finer", l.ResolutionMs, MaxResolutionMs)
	}
	if doc.TCPRoundTrips != nil && (l.TCPRoundTrips < MinTCPOps || l.TCPRoundTrips > MaxTCPRoundTrips) {
		add("tcpRoundTrips", "%d is outside %d..%d", l.TCPRoundTrips, MinTCPOps, MaxTCPRoundTrips)
	}
	if doc.TCPConnects != nil && (l.TCPConnects < MinTCPOps || l.TCPConnects > MaxTCPConnects) {
		add("tcpConnects", "%d is outside %d..%d (each connection holds a client port in TIME_WAIT for 60 s)", l.TCPConnects, MinTCPOps, MaxTCPConnects)
	}
	if doc.ResourceWarmupSeconds != nil && !(l.ResourceWarmupSeconds >= MinResourceWarmupSeconds) {
		add("resourceWarmupSeconds", "%g is below %d s: the kubelet's cAdvisor stats can be 15 s old, so the first scrape would report stats from before the load",
			l.ResourceWarmupSeconds, MinResourceWarmupSeconds)
	}
	if doc.ResourceSeconds != nil && !(l.ResourceSeconds >= MinResourceSeconds) {
		add("resourceSeconds", "%g is below %d s: with stats up to 15 s old a shorter trial may hold no fresh stats at all",
			l.ResourceSeconds, MinResourceSeconds)
	}
	for _, w := range []struct {
		key     string
		seconds float64
	}{{"resourceWarmupSeconds", l.ResourceWarmupSeconds}, {"resourceSeconds", l.ResourceSeconds}} {
		if l.QPS > 0 && w.seconds > 0 && l.QPS*w.seconds > MaxRequestsPerTrial {
			errs = append(errs, fmt.Errorf("%s: qps × %s = %g requests is beyond %d; lower %s",
				path, w.key, l.QPS*w.seconds, MaxRequestsPerTrial, w.key))
		}
	}
	if l.QPS > 0 && l.TrialSeconds > 0 {
		switch n := l.RequestsPerTrial(); {
		case n > MaxRequestsPerTrial:
			errs = append(errs, fmt.Errorf("%s: qps × trialSeconds = %g requests per trial is beyond %d, more than the cluster should carry in one trial; lower qps or trialSeconds",
				path, n, MaxRequestsPerTrial))
		case n < MinRequestsPerTrial:
			errs = append(errs, fmt.Errorf("%s: qps × trialSeconds = %g requests per trial is below %d: a p99 would rest on fewer than 10 requests; raise qps or trialSeconds",
				path, n, MinRequestsPerTrial))
		}
	}
	if l.QPS > 0 && l.WarmupSeconds > 0 && l.QPS*l.WarmupSeconds > MaxRequestsPerTrial {
		errs = append(errs, fmt.Errorf("%s: qps × warmupSeconds = %g warm-up requests is beyond %d; lower warmupSeconds",
			path, l.QPS*l.WarmupSeconds, MaxRequestsPerTrial))
	}
	return l, errs
}

func decodeStrict(js []byte, into any) error {
	if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
		return errors.New("empty document")
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// keyError words a strict-decoding error at path, naming the keys allowed
// there.
func keyError(path string, err error, known ...string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			path += "." + te.Field
		}
		return fmt.Errorf("%s: got a YAML %s, want %s", path, te.Value, want(te.Type))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return fmt.Errorf("%s: %s; the keys here are %s", path, msg, strings.Join(known, ", "))
	}
	return fmt.Errorf("%s: %s", path, msg)
}

func want(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	default:
		return "a mapping"
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
