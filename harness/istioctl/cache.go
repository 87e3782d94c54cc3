// The cache: a verified istioctl under its version, and the files written on the way.

package istioctl

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// error wrapping os.ErrNotExist if there is no complete entry, or another
// error if the entry exists but does not match its marker.
func (r *run) cached() (string, error) {
	bin := filepath.Join(r.dir, binaryName)
	raw, err := os.ReadFile(filepath.Join(r.dir, markerName))
	if err != nil {
		return "", err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return "", err
	}
	var archiveSum, binSum string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !isSHA256(f[0]) {
			return "", fmt.Errorf("malformed marker %s", markerName)
		}
		switch f[1] {
		case r.file:
			archiveSum = f[0]
		case binaryName:
			binSum = f[0]
		}
	}
	if archiveSum == "" || binSum == "" {
		return "", fmt.Errorf("marker %s does not record %s", markerName, r.file)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 {
		return "", fmt.Errorf("%s is not an executable file", bin)
	}
	got, err := hashFile(bin)
	if err != nil {
		return "", err
	}
	if got != binSum {
		return "", fmt.Errorf("binary sha256 %s differs from recorded %s", got, binSum)
	}
	return archiveSum, nil
}

// writeTemp writes r to a new temporary file in dir with the given mode,
// syncs it and returns its path and sha256.
func writeTemp(dir, pattern string, r io.Reader, mode os.FileMode) (string, string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", "", err
	}
	name := f.Name()
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", "", err
	}
	return name, hex.EncodeToString(h.Sum(nil)), nil
}

func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	tmp, _, err := writeTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp", strings.NewReader(string(data)), mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
