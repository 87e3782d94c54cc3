package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch is the timestamp of every file and of the image config: the same
// inputs give the same layer and image digests.
var epoch = time.Unix(0, 0).UTC()

// entry is one file-system object of a layer.
type entry struct {
	Path     string      // inside the image, relative: "usr/local/bin/x"
	Mode     fs.FileMode // type bits and permissions (setuid, setgid, sticky kept)
	UID, GID int
	Data     []byte // content of a regular file given inline
	Src      string // content of a regular file read from this host path
	Link     string // target of a symlink
}

func (e entry) String() string { return "/" + e.Path }

// dirEntry, fileEntry, srcEntry and linkEntry build entries owned by root.
func dirEntry(p string, perm fs.FileMode) entry { return entry{Path: p, Mode: fs.ModeDir | perm} }
func fileEntry(p string, perm fs.FileMode, data string) entry {
	return entry{Path: p, Mode: perm, Data: []byte(data)}
}
func srcEntry(p string, perm fs.FileMode, src string) entry {
	return entry{Path: p, Mode: perm, Src: src}
}
func linkEntry(p, target string) entry {
	return entry{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target}
}

// treeEntries lists the tree under root as entries (paths relative to root,
// every file owned by root). Only directories, regular files and symlinks
// may be in it.
func treeEntries(root string) ([]entry, error) {
	var out []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		perm := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		switch {
		case info.Mode().IsDir():
			out = append(out, entry{Path: rel, Mode: fs.ModeDir | perm})
		case info.Mode().IsRegular():
			out = append(out, srcEntry(rel, perm, p))
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, linkEntry(rel, target))
		default:
			return fmt.Errorf("%s is a %s; an image tree may hold only directories, regular files and symlinks: remove it from %s",
				p, info.Mode().Type(), root)
		}
		return nil
	})
	return out, err
}

// normalize checks the entries, adds missing parent directories (0755,
// root) and sorts them by path, so that a parent always precedes its
// children. A path given twice, a parent that is not a directory and an
// absolute or unclean path are errors.
func normalize(entries []entry) ([]entry, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		if e.Path == "" || strings.HasPrefix(e.Path, "/") || path.Clean(e.Path) != e.Path || e.Path == ".." || strings.HasPrefix(e.Path, "../") {
			return nil, fmt.Errorf("image path %q must be relative and clean, like usr/local/bin/x", e.Path)
		}
		if prev, ok := byPath[e.Path]; ok {
			return nil, fmt.Errorf("image path %s is given twice (%s and %s); each path may appear once per layer", e, describe(prev), describe(e))
		}
		byPath[e.Path] = e
	}
	for _, e := range entries {
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			p, ok := byPath[dir]
			if !ok {
				byPath[dir] = dirEntry(dir, 0o755)
				continue
			}
			if !p.Mode.IsDir() {
				return nil, fmt.Errorf("image path %s needs /%s to be a directory, but it is %s; put the file under a real directory",
					e, dir, describe(p))
			}
		}
	}
	out := make([]entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func describe(e entry) string {
	switch {
	case e.Mode&fs.ModeSymlink != 0:
		return "a symlink to " + e.Link
	case e.Mode.IsDir():
		return "a directory"
	case e.Src != "":
		return "a copy of " + e.Src
	default:
		return "an inline file"
	}
}

// tarMode is the tar header mode of an entry: permissions and the
// setuid/setgid/sticky bits in their Unix positions.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// writeTar writes normalized entries as an uncompressed tar stream with
// fixed timestamps and numeric owners only.
func writeTar(w io.Writer, entries []entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeEntry(tw, e); err != nil {
			return fmt.Errorf("writing %s: %w", e, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e entry) error {
	h := &tar.Header{
		Name:    e.Path,
		Mode:    tarMode(e.Mode),
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: epoch,
		Format:  tar.FormatPAX,
	}
	var body io.Reader
	switch {
	case e.Mode.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, e.Path+"/"
	case e.Mode&fs.ModeSymlink != 0:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
	case e.Mode.IsRegular() && e.Src != "":
		f, err := os.Open(e.Src)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", e.Src)
		}
		h.Typeflag, h.Size, body = tar.TypeReg, st.Size(), f
	case e.Mode.IsRegular():
		h.Typeflag, h.Size, body = tar.TypeReg, int64(len(e.Data)), bytes.NewReader(e.Data)
	default:
		return fmt.Errorf("unsupported mode %s", e.Mode)
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if body == nil {
		return nil
	}
	n, err := io.Copy(tw, body)
	if err != nil {
		return err
	}
	if n != h.Size {
		return fmt.Errorf("%s changed while it was read (%d bytes, expected %d)", e.Src, n, h.Size)
	}
	return nil
}

// newLayer builds a layer from entries. The uncompressed tar stream is
// produced again whenever it is read; files are not held in memory.
func newLayer(entries []entry) (v1.Layer, error) {
	norm, err := normalize(entries)
	if err != nil {
		return nil, err
	}
	for _, e := range norm {
		if e.Src == "" {
			continue
		}
		st, err := os.Stat(e.Src)
		if err != nil {
			return nil, fmt.Errorf("image path %s: %w", e, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("image path %s: %s is not a regular file", e, e.Src)
		}
	}
	// The compressed stream is cached: ggcr reads it for the digest, the
	// size and the archive, and compressing a 100 MB binary takes seconds.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, norm)) }()
		return pr, nil
	}, tarball.WithCompressedCaching)
}
