// Package testport gives tests loopback ports that a server can stop and
// start on again. A port from the kernel's ephemeral range (what ":0"
// hands out) can be taken, while the server is down, as the local port of
// any outgoing connection on the machine, and the restart then fails with
// "address already in use"; it did, in the mail outage test, when the
// browser suite ran beside it. Ports below that range are only ever taken
// by listeners that ask for them by number.
package testport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Listen listens on a free loopback port below the ephemeral range.
func Listen() (net.Listener, error) {
	low := ephemeralLow()
	span := low - 1024
	first := rand.IntN(span)
	for i := range 200 {
		port := 1024 + (first+i*7919)%span // a prime stride through the range
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Free returns a loopback port below the ephemeral range that was free a
// moment ago, for a server process that binds it itself.
func Free(tb testing.TB) int {
	tb.Helper()
	l, err := Listen()
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default where it can't be read).
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				return n
			}
		}
	}
	return 32768
}
