package store

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"
)

// NewRunID returns a new run id: a random UUID4 in 32 lowercase hex digits,
// as MLflow's uuid.uuid4().hex.
func NewRunID() string {
	u := uuid.New()
	return fmt.Sprintf("%x", u[:])
}

// NewExperimentID returns a new experiment id as MLflow's file store makes
// it: an 18-digit decimal integer taken from a random UUID4.
func NewExperimentID() string {
	for {
		u := uuid.New()
		n := new(big.Int).SetBytes(u[:])
		n.Mod(n, big.NewInt(1_000_000_000_000_000_000))
		s := n.String()
		if len(s) == 18 {
			return s
		}
	}
}

// NowMillis returns the current time in ms since the epoch.
func NowMillis() int64 { return time.Now().UnixMilli() }

// randIntn returns a uniform random int in [0, n).
func randIntn(n int) int {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}
