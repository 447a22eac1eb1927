package main

import (
	"image"
	"image/color"
	"math"
)

// plotSweep draws validation RMSE against log10(alpha+1e-4) as a small
// line plot with axes: enough to see the sweep's shape in the UI.
func plotSweep(results []result) image.Image {
	const w, h, pad = 480, 320, 32
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.White)
		}
	}
	axis := color.RGBA{60, 60, 60, 255}
	for x := pad; x < w-pad; x++ {
		img.Set(x, h-pad, axis)
	}
	for y := pad; y <= h-pad; y++ {
		img.Set(pad, y, axis)
	}
	if len(results) == 0 {
		return img
	}
	xs := make([]float64, len(results))
	minX, maxX := math.Inf(1), math.Inf(-1)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for i, r := range results {
		xs[i] = math.Log10(r.alpha + 1e-4)
		minX, maxX = math.Min(minX, xs[i]), math.Max(maxX, xs[i])
		minY, maxY = math.Min(minY, r.rmse), math.Max(maxY, r.rmse)
	}
	if maxX == minX {
		maxX++
	}
	if maxY == minY {
		maxY++
	}
	px := func(i int) (int, int) {
		x := pad + int((xs[i]-minX)/(maxX-minX)*float64(w-3*pad))
		y := h - pad - 8 - int((results[i].rmse-minY)/(maxY-minY)*float64(h-3*pad))
		return x, y
	}
	line := color.RGBA{31, 119, 180, 255}
	for i := 1; i < len(results); i++ {
		x0, y0 := px(i - 1)
		x1, y1 := px(i)
		steps := max(abs(x1-x0), abs(y1-y0), 1)
		for s := 0; s <= steps; s++ {
			img.Set(x0+(x1-x0)*s/steps, y0+(y1-y0)*s/steps, line)
		}
	}
	dot := color.RGBA{214, 39, 40, 255}
	for i := range results {
		x, y := px(i)
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				if dx*dx+dy*dy <= 9 {
					img.Set(x+dx, y+dy, dot)
				}
			}
		}
	}
	return img
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
