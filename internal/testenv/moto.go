package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// Moto is a moto server (python3 -m moto.server) emulating AWS APIs such as
// CloudWatch on 127.0.0.1. Its state is global to the process: call Reset
// between tests.
type Moto struct {
	// URL is the endpoint to give the AWS SDK (http://127.0.0.1:PORT).
	URL string

	cmd    *exec.Cmd
	exited chan error
}

var motoPortRE = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// NewMoto starts moto on a free port and waits until it answers; call Stop
// when done. moto 5.x is needed (`pip install 'moto[server]'`, or Debian's
// python3-moto plus flask).
func NewMoto() (*Moto, error) {
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto (python3 -m moto.server): %w", err)
	}
	m := &Moto{cmd: cmd, exited: make(chan error, 1)}
	addr := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		// moto prints its address on stderr; keep draining it afterwards
		// so the server never blocks on a full pipe.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if mm := motoPortRE.FindStringSubmatch(sc.Text()); mm != nil {
				addr <- mm[1]
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			log.Write(sc.Bytes())
			log.WriteByte('\n')
		}
		close(addr)
	}()
	go func() { m.exited <- cmd.Wait() }()
	select {
	case u, ok := <-addr:
		if !ok {
			stopProcess(cmd, m.exited)
			return nil, fmt.Errorf("moto exited before listening; is moto[server] installed? output:\n%s", log.String())
		}
		m.URL = u
	case <-time.After(30 * time.Second):
		stopProcess(cmd, m.exited)
		return nil, errors.New("moto did not print its address within 30 s")
	}
	if err := waitHTTP(m.URL+"/moto-api/", 30*time.Second, m.exited, nil); err != nil {
		stopProcess(cmd, m.exited)
		return nil, fmt.Errorf("moto: %w", err)
	}
	return m, nil
}

// StartMoto starts moto for one test and stops it at cleanup.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	m, err := NewMoto()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// Reset clears all of moto's state.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Stop stops moto.
func (m *Moto) Stop() { stopProcess(m.cmd, m.exited) }
