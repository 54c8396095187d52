package localdata

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// WriteDir writes files under dir, creating directories as needed, and
// returns the paths written in sorted order.
func WriteDir(dir string, files map[string][]byte) ([]string, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("write dataset: %w", err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, fmt.Errorf("write dataset: %w", err)
		}
	}
	return names, nil
}
