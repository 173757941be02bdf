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
// limit: the limit less a reserve for what the container is charged and
// the Go runtime does not count, at least 64 MiB or 10 % (and never below
// half the limit). Most of the reserve is the binary's own pages mapped
// from its file, 43–54 MiB resident (measured, docs/performance.md); the
// rest kernel buffers. The garbage collector then works harder as the heap
// nears the limit instead of letting it double between collections
// (GOGC=100) and being OOM-killed: a controller with 10,000 ScalingPolicies
// would peak near 500 MiB otherwise. A 90 % soft limit, the reserve before
// it was measured, kept such a controller at about 270 MiB of Go memory
// plus the binary's pages: over a 300 MiB limit, where the kernel would
// keep evicting the binary's code to make room.
func SoftMemoryLimit(containerLimit int64) int64 {
	reserve := max(containerLimit/10, 64<<20)
	return max(containerLimit/2, containerLimit-reserve)
}
