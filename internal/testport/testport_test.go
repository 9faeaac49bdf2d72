package testport

import (
	"net"
	"strconv"
	"testing"
)

func TestPortsAreBelowTheEphemeralRangeAndFree(t *testing.T) {
	low := ephemeralLow()
	seen := map[int]bool{}
	for range 20 {
		l, err := Listen()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if port < 1024 || port >= low || seen[port] {
			t.Fatalf("port %d: want a new one in [1024, %d)", port, low)
		}
		seen[port] = true
	}
	port := Free(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("Free's port %d can't be listened on: %v", port, err)
	}
	l.Close()
}
