package store

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// NewRunID returns a new run id: a random UUID4 in 32 lowercase hex digits,
// as MLflow's uuid.uuid4().hex.
func NewRunID() string {
	u := uuid.New()
	return fmt.Sprintf("%x", u[:])
}

// NowMillis returns the current time in ms since the epoch.
func NowMillis() int64 { return time.Now().UnixMilli() }
