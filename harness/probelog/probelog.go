// Package probelog keeps, per process, the last outputs of the probe
// commands a spec ran (request results, fortio JSON, round trips, held
// connections, sniffer summaries), bounded, so a failure bundle can show
// what the probe saw without a second run.
package probelog

import (
	"strings"
	"sync"
	"time"
)

// Limits of the record: the newest entries are kept, each output cut to
// MaxOutput bytes.
const (
	MaxEntries = 200
	MaxOutput  = 64 << 10
)

// Entry is one probe command and what it printed.
type Entry struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`  // request | load | hold | rr | sniff
	Where   string    `json:"where"` // namespace/pod
	Command string    `json:"command"`
	Output  string    `json:"output"`
	Err     string    `json:"error,omitempty"`
	Cut     bool      `json:"truncated,omitempty"`
}

var record struct {
	sync.Mutex
	entries []Entry
}

// Add records one probe command.
func Add(kind, where string, cmd []string, output []byte, err error) {
	e := Entry{Time: time.Now(), Kind: kind, Where: where, Command: strings.Join(cmd, " "), Output: string(output)}
	if len(e.Output) > MaxOutput {
		e.Output, e.Cut = e.Output[:MaxOutput], true
	}
	if err != nil {
		e.Err = err.Error()
	}
	record.Lock()
	defer record.Unlock()
	record.entries = append(record.entries, e)
	if n := len(record.entries); n > MaxEntries {
		record.entries = append([]Entry(nil), record.entries[n-MaxEntries:]...)
	}
}

// Take returns the entries recorded since the last Take and forgets them.
func Take() []Entry {
	record.Lock()
	defer record.Unlock()
	out := record.entries
	record.entries = nil
	return out
}
