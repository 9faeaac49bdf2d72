package password

import "golang.org/x/sys/unix"

// threadPriorities is true where lowerThreadPriority works.
const threadPriorities = true

// lowerThreadPriority sets the nice value of the calling OS thread, which
// the caller has locked to its goroutine. On Linux a nice value belongs to
// a thread, not the process (setpriority(2), "BUGS"), so the rest of authd
// keeps its own. Raising one's own nice value needs no privilege; it can
// still fail where a seccomp policy forbids the call.
func lowerThreadPriority(nice int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
}
