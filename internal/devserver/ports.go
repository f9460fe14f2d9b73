package devserver

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"syscall"
)

// loopbackIP is where the internal services (history, matching, worker) listen.
// They are only ever dialled from inside this process.
const loopbackIP = "127.0.0.1"

// FreePorts returns n distinct TCP ports that are currently free on ip and
// are none of exclude.
//
// All n listeners are held open until every port has been chosen, so the same
// port cannot be returned twice. On Linux and most BSDs ephemeral ports are
// randomised and may be handed out again right after being released; to make
// that unlikely (two servers starting side by side in tests), each port is put
// into TIME_WAIT by a connection closed from the accepting side: the kernel
// does not pick a port in TIME_WAIT for bind(:0), but an explicit bind with
// SO_REUSEADDR (which Go sets on listeners) still succeeds. macOS and Windows
// allocate ephemeral ports sequentially, so the trick is not needed there.
//
// exclude holds ports chosen elsewhere (a port given on the command line, or
// one picked on another address): nothing is listening on them yet, so the
// kernel may hand them out again.
func FreePorts(ip string, n int, exclude ...int) ([]int, error) {
	addr := &net.TCPAddr{IP: net.ParseIP(ip)}
	return pickPorts(func() (*net.TCPListener, error) { return net.ListenTCP("tcp", addr) }, ip, n, exclude)
}

// maxExcludedPicks bounds how many excluded ports pickPorts skips before it
// gives up (each skipped port stays bound, so the kernel cannot offer it twice).
const maxExcludedPicks = 64

func pickPorts(listen func() (*net.TCPListener, error), ip string, n int, exclude []int) ([]int, error) {
	listeners := make([]*net.TCPListener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	skipped := 0
	for len(ports) < n {
		l, err := listen()
		if err != nil {
			return nil, fmt.Errorf("finding a free port on %s: %w", ip, err)
		}
		listeners = append(listeners, l)
		port := l.Addr().(*net.TCPAddr).Port
		if slices.Contains(exclude, port) {
			// Held open until the end, so the next listen gets another port.
			if skipped++; skipped > maxExcludedPicks {
				return nil, fmt.Errorf("finding a free port on %s: the kernel kept offering ports already taken (%v)", ip, exclude)
			}
			continue
		}
		if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
			if err := parkInTimeWait(l); err != nil {
				return nil, fmt.Errorf("finding a free port on %s: %w", ip, err)
			}
		}
		ports = append(ports, port)
	}
	return ports, nil
}

func parkInTimeWait(l *net.TCPListener) error {
	c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	s, err := l.Accept()
	if err != nil {
		return err
	}
	// Closing from the server side first puts the port into TIME_WAIT.
	return s.Close()
}

// listenOn binds ip:port and turns "address already in use" into an error that
// names the port and what it was meant for.
func listenOn(what, ip string, port int) (net.Listener, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s port %d on %s is already in use: %w", what, port, ip, err)
		}
		return nil, fmt.Errorf("cannot listen on %s for the %s: %w", addr, what, err)
	}
	return l, nil
}

// checkPortFree reports, with a clear error, whether ip:port can be bound now.
func checkPortFree(what, ip string, port int) error {
	l, err := listenOn(what, ip, port)
	if err != nil {
		return err
	}
	return l.Close()
}
