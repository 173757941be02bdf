package manager_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/internal/manager"
)

func TestCgroupMemoryLimit(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		limit   int64
		ok      bool
		wantErr string
	}{
		{name: "cgroup v2 limit", files: map[string]string{"memory.max": "314572800\n"}, limit: 300 << 20, ok: true},
		{name: "cgroup v2 without a limit", files: map[string]string{"memory.max": "max\n"}},
		{name: "cgroup v1 limit", files: map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, limit: 512 << 20, ok: true},
		{name: "cgroup v1 without a limit", files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}},
		{name: "v2 wins over v1", files: map[string]string{"memory.max": "1048576", "memory/memory.limit_in_bytes": "2097152"}, limit: 1 << 20, ok: true},
		{name: "no cgroup files"},
		{name: "garbage", files: map[string]string{"memory.max": "lots"}, wantErr: `cgroup memory limit memory.max: "lots" is not a number of bytes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
			}
			limit, ok, err := manager.CgroupMemoryLimit(root)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.limit, limit)
		})
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name            string
		container, want int64
	}{
		{"a 300 MiB container keeps 64 MiB for the binary's pages and the kernel", 300 << 20, 236 << 20},
		{"a large container keeps 10 %", 4 << 30, 4<<30 - (4<<30)/10},
		{"the reserve is 64 MiB up to 640 MiB", 640 << 20, 576 << 20},
		{"a small container keeps at least half for the heap", 100 << 20, 50 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, manager.SoftMemoryLimit(tc.container))
		})
	}
}
