package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CgroupMemoryLimit reads the memory limit of the container the process
// runs in under root (/sys/fs/cgroup, seen through the container's cgroup
// namespace): cgroup v2's memory.max, else v1's
// memory/memory.limit_in_bytes. ok is false when there is no limit ("max",
// or v1's page-rounded MaxInt64) or no cgroup file.
func CgroupMemoryLimit(root string) (limit int64, ok bool, err error) {
	for _, name := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("read cgroup memory limit: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("cgroup memory limit %s: %q is not a number of bytes", name, s)
		}
		// cgroup v1 reports "no limit" as MaxInt64 rounded down to a page.
		if n <= 0 || n > math.MaxInt64/2 {
			return 0, false, nil
		}
		return n, true, nil
	}
	return 0, false, nil
}

// SoftMemoryLimit is the Go runtime's soft memory limit for a container
// limit: 90 % of it, leaving room for memory the Go runtime does not
// manage (the binary's pages, kernel buffers charged to the container). The garbage collector then
// works harder as the heap nears the container's limit instead of letting
// it double between collections (GOGC=100) and being OOM-killed: a
// controller with 10,000 ScalingPolicies has a live heap near 170 MiB and
// would peak near 420 MiB otherwise (measured, docs/performance.md).
func SoftMemoryLimit(containerLimit int64) int64 { return containerLimit / 10 * 9 }
