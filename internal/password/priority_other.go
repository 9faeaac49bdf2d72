//go:build !linux

package password

// threadPriorities is false where lowerThreadPriority does nothing: other
// systems have no portable per-thread nice value, so hashing runs on the
// caller's goroutine at the process's priority.
const threadPriorities = false

func lowerThreadPriority(int) error { return nil }
