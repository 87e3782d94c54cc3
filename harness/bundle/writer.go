package bundle

import (
	"fmt"
	"os"
	"path/filepath"
)

// writer writes a bundle's files within a byte budget: a file that does not
// fit is cut (a log keeps its tail, where the failure is; anything else its
// head) and the cut noted; once the budget is spent, files are left out and
// noted.
type writer struct {
	dir     string
	left    int64
	files   int
	written int64
	notes   []string
}

func (w *writer) note(format string, args ...any) {
	w.notes = append(w.notes, fmt.Sprintf(format, args...))
}

// file writes data as name, cut to what the budget has left; tail keeps the
// end of the data instead of its start.
func (w *writer) file(name string, data []byte, tail bool) {
	if len(data) == 0 {
		return
	}
	if w.left <= 0 {
		w.note("%s (%d bytes) left out: the bundle reached its size bound", name, len(data))
		return
	}
	if int64(len(data)) > w.left {
		w.note("%s cut to %d of %d bytes (the bundle's size bound)", name, w.left, len(data))
		if tail {
			data = data[int64(len(data))-w.left:]
		} else {
			data = data[:w.left]
		}
	}
	p := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.note("%s: %v", name, err)
		return
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.note("%s: %v", name, err)
		return
	}
	w.left -= int64(len(data))
	w.written += int64(len(data))
	w.files++
}
