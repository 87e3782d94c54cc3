package perf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Calibration is what a calibration of the instrument (make bench-latency)
// found on one machine: the percentiles at which every injected shift was
// recovered, at one load preset. The perf specs read it (LATENCY_CALIBRATION)
// and judge no latency budget at a percentile it did not calibrate.
type Calibration struct {
	// Load is the load preset the calibration ran.
	Load string `json:"load"`
	// Calibrated and NotCalibrated are percentiles ("p50").
	Calibrated    []string  `json:"calibrated"`
	NotCalibrated []string  `json:"notCalibrated"`
	When          time.Time `json:"when"`
	// Source is the file it was read from (not written).
	Source string `json:"-"`
}

// Covers says whether a latency percentile measured at load is calibrated;
// why says what is missing when it is not. A nil Calibration covers
// everything: no calibration was given.
func (c *Calibration) Covers(load, percentile string) (ok bool, why string) {
	switch {
	case c == nil:
		return true, ""
	case c.Load != load:
		return false, fmt.Sprintf("the instrument was calibrated at the %q load (%s), this run measured at %q", c.Load, c.Source, load)
	case !slices.Contains(c.Calibrated, percentile):
		return false, fmt.Sprintf("the instrument is not calibrated at %s on this machine (make bench-latency, %s)", percentile, c.Source)
	}
	return true, ""
}

// WriteCalibration writes c as JSON to path, creating its directory.
func WriteCalibration(path string, c Calibration) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadCalibration reads a calibration written by WriteCalibration.
func ReadCalibration(path string) (*Calibration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("LATENCY_CALIBRATION: %w (the calibration.json make bench-latency writes)", err)
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("LATENCY_CALIBRATION %s: %w", path, err)
	}
	if c.Load == "" || len(c.Calibrated)+len(c.NotCalibrated) == 0 {
		return nil, fmt.Errorf("LATENCY_CALIBRATION %s: no load or no percentiles: not a calibration.json", path)
	}
	c.Source = path
	return &c, nil
}
