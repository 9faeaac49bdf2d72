package ratelimit

import "time"

// StrikeMemory is how long a key remembers its lockouts.
const StrikeMemory = 24 * time.Hour
