package versions

import (
	"fmt"
	"time"
)

// MatrixOptions chooses the rows of a nightly matrix beyond the default
// (every release row supported on the given date, confirmed or not).
type MatrixOptions struct {
	// EndOfLife adds every end-of-life row.
	EndOfLife bool
	// Extra adds rows by ISTIO_VERSION value ("1.29", "1.29.8", "dev"),
	// end-of-life or development ones included. A value the table does not
	// know is an error.
	Extra []string
}

// Matrix is a GitHub Actions matrix: print it as JSON and use it with
// `strategy.matrix: ${{ fromJSON(...) }}`; each job reads matrix.istio.
type Matrix struct {
	// Include lists one job per row.
	Include []MatrixEntry `json:"include"`
	// Omitted lists supported rows left out because a run of them could
	// only stop in preflight (say why on stderr; not part of the JSON,
	// which GitHub Actions would read as another matrix dimension).
	Omitted []Omission `json:"-"`
}

// Omission is a row left out of the matrix, and why.
type Omission struct {
	Istio, Reason string
}

// MatrixEntry is one job of the nightly matrix.
type MatrixEntry struct {
	// Istio is the value to pass as ISTIO_VERSION (the pinned patch, or the
	// development build's version string).
	Istio string `json:"istio"`
	// Minor is the Istio minor, e.g. "1.31".
	Minor string `json:"minor"`
	// Status is the support status on the matrix's date.
	Status Status `json:"status"`
	// EOL is the announced end-of-life date (YYYY-MM-DD), "" if none.
	EOL string `json:"eol"`
	// Confirmed reports whether Istio's own sources confirm the version.
	Confirmed bool `json:"confirmed"`
}

// Matrix returns the rows a nightly run on the date of now should run: the
// release rows supported on that date (confirmed or not; an unconfirmed one
// stops in preflight when its istioctl download is missing; one whose
// Gateway API version is unknown is left out, see Omitted), plus what o
// asks for. The development build is never in it unless o.Extra names it.
// Rows are in table order, each once; an empty matrix is an error, since
// GitHub Actions rejects one.
func (t Table) Matrix(now time.Time, o MatrixOptions) (Matrix, error) {
	var m Matrix
	seen := map[string]bool{}
	add := func(r Release) {
		if seen[r.Istio] {
			return
		}
		seen[r.Istio] = true
		m.Include = append(m.Include, entryOf(r, now))
	}
	extra := make([]Release, 0, len(o.Extra))
	for _, v := range o.Extra {
		r, err := t.Lookup(v)
		if err != nil {
			return Matrix{}, fmt.Errorf("nightly matrix: extra version: %w", err)
		}
		extra = append(extra, r)
	}
	for _, r := range t.releases {
		if st := r.Status(now); st == StatusSupported || (o.EndOfLife && st == StatusEndOfLife) {
			if _, err := r.GatewayAPIVersion(); err != nil {
				// An install needs the Gateway API version: the job could
				// only stop in preflight with this error.
				m.Omitted = append(m.Omitted, Omission{Istio: r.Istio, Reason: err.Error()})
			} else {
				add(r)
			}
		}
		for _, e := range extra {
			if !e.Development && e.Minor == r.Minor {
				add(e)
			}
		}
	}
	for _, e := range extra {
		if e.Development {
			add(e)
		}
	}
	if len(m.Include) == 0 {
		return Matrix{}, fmt.Errorf("nightly matrix: no release row is supported on %s (every one is end-of-life): add the current Istio releases to %s, or ask for end-of-life rows",
			now.UTC().Format(dateLayout), versionsFileForUsers)
	}
	return m, nil
}

func entryOf(r Release, now time.Time) MatrixEntry {
	e := MatrixEntry{Istio: r.Istio, Minor: r.Minor, Status: r.Status(now), Confirmed: r.Confirmed}
	if !r.EOL.IsZero() {
		e.EOL = r.EOL.Format(dateLayout)
	}
	return e
}
