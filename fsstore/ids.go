package fsstore

import (
	"math/big"

	"github.com/google/uuid"
)

// newExperimentID returns a new experiment id as MLflow's file store makes
// it (name_utils._generate_unique_integer_id): an 18-digit decimal integer
// taken from a random UUID4.
func newExperimentID() string {
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
