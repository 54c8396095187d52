package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeOutput writes data to path for an -o flag without ever replacing
// what path is:
//   - a regular file, or no file: written to a temporary file next to it,
//     then renamed, so a reader never sees half a file (mode perm);
//   - a symlink to a regular file: the same at the file it points to, so
//     the link stays; a dangling link is refused;
//   - a device, FIFO or socket, directly or through a link (/dev/null,
//     /dev/stdout, <(…)): opened and written through; renaming over it
//     would replace /dev/null for every process when run as root (issue 9);
//   - a directory: refused.
func writeOutput(path string, data []byte, perm os.FileMode) error {
	fi, err := os.Stat(path) // follows links, /proc magic links included
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if lfi, lerr := os.Lstat(path); lerr == nil && lfi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s: symlink to a missing file; write to the target itself", path)
		}
		return replaceFile(path, data, perm)
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s: is a directory; give a file name", path)
	case !fi.Mode().IsRegular():
		return writeThrough(path, data)
	}
	target := path
	if lfi, err := os.Lstat(path); err == nil && lfi.Mode()&os.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			// A link the kernel follows but no path names (a /proc fd
			// of a deleted file): write through it.
			return writeThrough(path, data)
		}
		target = resolved
	}
	return replaceFile(target, data, perm)
}

// writeThrough opens an existing path for writing and writes data to it.
func writeThrough(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// replaceFile writes to a temporary file next to path and renames it over
// path. path must be a regular file or not exist.
func replaceFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxInputFile bounds a manifest or CCE policy file the aks commands read
// (both are kilobytes; a policy of many images stays well under 1 MiB).
const maxInputFile = 8 << 20

// readInput reads a manifest or policy file named by a flag, refusing one
// larger than maxInputFile (-f /dev/zero must not exhaust memory).
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a manifest or policy", path, maxInputFile)
	}
	return b, nil
}

// checkOutputPath refuses, before any long computation, an output path
// writeOutput would certainly fail on: a directory, or a file in a
// directory that does not exist. flag names the flag in the error.
func checkOutputPath(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageError{fmt.Errorf("%s: %s is a directory; give a file name", flag, path)}
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("%s: %s: directory %s does not exist", flag, path, dir)}
	}
	return nil
}
