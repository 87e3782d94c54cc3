// The extraction: the one istioctl entry of a release archive, nothing else.

package istioctl

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extract copies the single "istioctl" entry of a .tar.gz into
// dir/istioctl (mode 0755, atomically) and returns its sha256. Any entry
// with an absolute path or a ".." element makes the whole archive rejected.
func extract(archive, file, dir string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return "", fmt.Errorf("%s is not a gzip archive: %w", file, err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)

	var tmp, sum string
	defer func() {
		if tmp != "" {
			os.Remove(tmp)
		}
	}()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		if !safeEntryName(hdr.Name) {
			return "", fmt.Errorf("archive %s has an unsafe entry %q (absolute path or \"..\"); refusing to extract it", file, hdr.Name)
		}
		if path.Clean(hdr.Name) != binaryName {
			continue
		}
		if tmp != "" {
			return "", fmt.Errorf("archive %s has more than one %s entry", file, binaryName)
		}
		if hdr.Typeflag != tar.TypeReg {
			return "", fmt.Errorf("archive %s: entry %q is not a regular file (tar type %q)", file, hdr.Name, hdr.Typeflag)
		}
		if hdr.Size > maxBinaryBytes {
			return "", fmt.Errorf("archive %s: entry %q is %d bytes, more than the %d allowed", file, hdr.Name, hdr.Size, int64(maxBinaryBytes))
		}
		tmp, sum, err = writeTemp(dir, ".istioctl.*.tmp", tr, 0o755)
		if err != nil {
			return "", fmt.Errorf("extracting %s from %s: %w", binaryName, file, err)
		}
	}
	if tmp == "" {
		return "", fmt.Errorf("archive %s contains no %q entry; is it an istioctl release archive?", file, binaryName)
	}
	if err := os.Rename(tmp, filepath.Join(dir, binaryName)); err != nil {
		return "", fmt.Errorf("istioctl cache: %w", err)
	}
	tmp = ""
	return sum, nil
}

// safeEntryName rejects empty, absolute and parent-escaping tar entry names.
func safeEntryName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || filepath.IsAbs(name) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}
