package devserver

import (
	"net"
	"slices"
	"strings"
	"testing"
)

// The internal ports are picked on 127.0.0.1 after the frontend port was
// chosen (or given on the command line) and released: the kernel may offer
// that port again, and history then failed to bind it (seen in CI as
// "frontend 37677, … history 37677"). pickPorts is given a kernel that offers
// the excluded port first and must skip it.
func TestPickPortsSkipsExcludedPorts(t *testing.T) {
	t.Parallel()
	taken, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(loopbackIP)})
	if err != nil {
		t.Fatal(err)
	}
	excluded := taken.Addr().(*net.TCPAddr).Port
	offeredExcluded := 0
	listen := func() (*net.TCPListener, error) {
		if offeredExcluded == 0 {
			offeredExcluded++
			return taken, nil // the kernel offering the excluded port again
		}
		return net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(loopbackIP)})
	}
	ports, err := pickPorts(listen, loopbackIP, 3, []int{excluded})
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 {
		t.Fatalf("got %d ports, want 3: %v", len(ports), ports)
	}
	if slices.Contains(ports, excluded) {
		t.Errorf("ports %v include the excluded port %d", ports, excluded)
	}
	slices.Sort(ports)
	if len(slices.Compact(slices.Clone(ports))) != 3 {
		t.Errorf("ports %v are not distinct", ports)
	}
}

// A kernel that only ever offers excluded ports gets a clear error, not a loop.
func TestPickPortsGivesUp(t *testing.T) {
	t.Parallel()
	taken, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(loopbackIP)})
	if err != nil {
		t.Fatal(err)
	}
	excluded := taken.Addr().(*net.TCPAddr).Port
	_, err = pickPorts(func() (*net.TCPListener, error) { return taken, nil }, loopbackIP, 1, []int{excluded})
	if err == nil || !strings.Contains(err.Error(), "kept offering ports already taken") {
		t.Errorf("err = %v, want one saying the kernel kept offering taken ports", err)
	}
}
