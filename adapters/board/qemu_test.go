package board

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Paths of QEMU's models on the ast2600-evb machine.
const (
	gpioPath = "/machine/soc/gpio"
	psuPath  = "/machine/peripheral/psu0"
)

// adm1272Defaults are the readings QEMU's adm1272 model resets to
// (ADM1272_VOLT_DEFAULT, ADM1272_IOUT_DEFAULT), in mV and mA.
var adm1272Defaults = map[string]uint64{"vin": 12000, "vout": 12000, "iout": 25000}

// board is one running emulated AST2600 EVB.
type board struct {
	cmd     *exec.Cmd
	qmp     *qmp
	con     *console
	natsURL string
	workDir string
	exited  chan struct{}
	exitErr error
}

// bootBoard starts QEMU on the files .ci/board prepared in dir, with an
// adm1272 on I2C bus 3 at 0x10, the first MAC on QEMU's user network with a
// free host port forwarded to the guest's NATS port, QMP on a unix socket
// and the serial console on QEMU's stdio, and waits for the guest's init
// to say it is ready.
func bootBoard(t *testing.T, dir string) *board {
	t.Helper()
	work := t.TempDir()
	port := freePort(t)
	qmpSock := filepath.Join(work, "qmp.sock")
	args := []string{
		"-M", "ast2600-evb", "-m", "1G", "-nographic", "-no-reboot",
		"-kernel", filepath.Join(dir, "vmlinuz"),
		"-dtb", filepath.Join(dir, "ast2600-evb.dtb"),
		"-initrd", filepath.Join(dir, "initramfs.cpio.gz"),
		"-append", "console=ttyS4,115200n8 rdinit=/init loglevel=4",
		"-device", "adm1272,id=psu0,bus=aspeed.i2c.bus.3,address=0x10",
		"-nic", fmt.Sprintf("user,model=ftgmac100,hostfwd=tcp:127.0.0.1:%d-:4222", port),
		"-qmp", "unix:" + qmpSock + ",server=on,wait=off",
	}
	cmd := exec.Command("qemu-system-arm", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	logPath := filepath.Join(dir, "console.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("qemu-system-arm %q; console log in %s", args, logPath)
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start qemu-system-arm (run .ci/board, which installs it): %v", err)
	}
	b := &board{cmd: cmd, natsURL: fmt.Sprintf("nats://127.0.0.1:%d", port), workDir: work, exited: make(chan struct{})}
	b.con = newConsole(stdout, stdin, logFile)
	go func() { b.exitErr = cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		b.con.send("reboot -f\n")
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-b.exited
		}
		logFile.Close()
	})
	if b.qmp, err = dialQMP(qmpSock, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.qmp.close() })
	if _, err := b.con.waitFor(regexp.MustCompile(`@@board: ready`), 0, 5*time.Minute, b.exited); err != nil {
		t.Fatalf("the guest did not reach its shell: %v; console tail:\n%s", err, b.con.tail(3000))
	}
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// console is the guest's serial console: a busybox shell the harness
// types into, everything it prints kept (and logged) for matching.
type console struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	grew chan struct{} // closed and replaced on every read
	in   io.Writer
	seq  int
}

func newConsole(out io.Reader, in io.Writer, log io.Writer) *console {
	c := &console{in: in, grew: make(chan struct{})}
	go func() {
		chunk := make([]byte, 4096)
		for {
			n, err := out.Read(chunk)
			if n > 0 {
				log.Write(chunk[:n])
				c.mu.Lock()
				c.buf.Write(chunk[:n])
				close(c.grew)
				c.grew = make(chan struct{})
				c.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *console) send(s string) { io.WriteString(c.in, s) }

func (c *console) offset() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

// waitFor waits until re matches the output after offset from, and
// returns the submatches.
func (c *console) waitFor(re *regexp.Regexp, from int, within time.Duration, exited <-chan struct{}) ([]string, error) {
	deadline := time.After(within)
	for {
		c.mu.Lock()
		text := c.buf.Bytes()[from:]
		m := re.FindSubmatch(text)
		grew := c.grew
		c.mu.Unlock()
		if m != nil {
			out := make([]string, len(m))
			for i := range m {
				out[i] = string(m[i])
			}
			return out, nil
		}
		select {
		case <-grew:
		case <-exited:
			return nil, fmt.Errorf("qemu exited before %q", re)
		case <-deadline:
			return nil, fmt.Errorf("no %q on the console within %s", re, within)
		}
	}
}

func (c *console) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// run runs a shell command in the guest and returns what it printed and
// its exit status.
func (b *board) run(command string, within time.Duration) (string, int, error) {
	b.con.mu.Lock()
	b.con.seq++
	n := b.con.seq
	b.con.mu.Unlock()
	from := b.con.offset()
	// The marker is split in the command so that an echoed command line
	// never matches it.
	b.con.send(fmt.Sprintf("%s\necho \"@@rc\"\"-%d=$?\"\n", command, n))
	re := regexp.MustCompile(fmt.Sprintf(`(?s)^(.*)@@rc-%d=(\d+)`, n))
	m, err := b.con.waitFor(re, from, within, b.exited)
	if err != nil {
		return b.con.tail(2000), -1, fmt.Errorf("%s: %w", command, err)
	}
	rc, _ := strconv.Atoi(m[2])
	return m[1], rc, nil
}

// mustRun runs a guest command that must succeed.
func (b *board) mustRun(t *testing.T, command string, within time.Duration) string {
	t.Helper()
	out, rc, err := b.run(command, within)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, out)
	}
	if rc != 0 {
		t.Fatalf("guest: %s: exit status %d:\n%s", command, rc, out)
	}
	return out
}
