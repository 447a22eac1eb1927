package main

import (
	"math"
	"math/rand/v2"
)

// dataset is a regression problem: rows of features and targets.
type dataset struct {
	x [][]float64
	y []float64
}

// informative is the number of features the target depends on; the others
// are noise, which is what makes the L2 penalty pay off.
const informative = 5

// makeData returns a deterministic synthetic data set: n rows of d
// features drawn from a fixed seed, a target that is a fixed linear
// function of the first few features plus Gaussian noise, split in half
// into train and validation parts.
func makeData(n, d int, seed uint64) (train, valid dataset) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := make([]float64, d)
	for j := range min(informative, d) {
		w[j] = rng.NormFloat64() * 2
	}
	var all dataset
	for range n {
		row := make([]float64, d)
		y := 0.5
		for j := range row {
			row[j] = rng.NormFloat64()
			y += w[j] * row[j]
		}
		all.x = append(all.x, row)
		all.y = append(all.y, y+rng.NormFloat64()*2)
	}
	cut := n / 2
	return dataset{all.x[:cut], all.y[:cut]}, dataset{all.x[cut:], all.y[cut:]}
}

// model is a linear model with bias.
type model struct {
	w []float64
	b float64
}

func (m *model) predict(x []float64) float64 {
	s := m.b
	for j, v := range x {
		s += m.w[j] * v
	}
	return s
}

// rmse returns the root mean squared error of m on ds.
func (m *model) rmse(ds dataset) float64 {
	var s float64
	for i, x := range ds.x {
		e := m.predict(x) - ds.y[i]
		s += e * e
	}
	return math.Sqrt(s / float64(len(ds.y)))
}

// epoch runs one epoch of full-batch gradient descent on the ridge loss
// mean((w·x+b-y)²) + alpha·|w|².
func (m *model) epoch(ds dataset, alpha, lr float64) {
	gw := make([]float64, len(m.w))
	var gb float64
	n := float64(len(ds.y))
	for i, x := range ds.x {
		e := m.predict(x) - ds.y[i]
		for j, v := range x {
			gw[j] += 2 * e * v / n
		}
		gb += 2 * e / n
	}
	for j := range m.w {
		m.w[j] -= lr * (gw[j] + 2*alpha*m.w[j])
	}
	m.b -= lr * gb
}
