package identity

import "math"

// index holds, in memory, what matching needs of every identity: its mean
// feature and descriptor count. Features are stored in one flat slice so
// that a visit's comparison with every identity walks memory in order. Its
// size is bounded by the store's identity cap.
type index struct {
	dim   int
	split int // where tail starts
	ids   []string
	feats []float32
	n     []int32
	tail  []float32 // |feature| from split on, for pruning
	pos   map[string]int
}

func newIndex(dim int) *index {
	return &index{dim: dim, split: min(splitDims, dim), pos: map[string]int{}}
}

func (x *index) tailNorm(feat []float32) float32 {
	var s float64
	for _, v := range feat[x.split:x.dim] {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}

func (x *index) len() int { return len(x.ids) }

// put adds or replaces an identity's entry.
func (x *index) put(id string, feat []float32, n int) {
	if i, ok := x.pos[id]; ok {
		copy(x.feats[i*x.dim:(i+1)*x.dim], feat)
		x.n[i] = int32(n)
		x.tail[i] = x.tailNorm(feat)
		return
	}
	x.pos[id] = len(x.ids)
	x.ids = append(x.ids, id)
	x.feats = append(x.feats, feat[:x.dim]...)
	x.n = append(x.n, int32(n))
	x.tail = append(x.tail, x.tailNorm(feat))
}

// remove deletes an identity's entry (the last entry takes its place).
func (x *index) remove(id string) {
	i, ok := x.pos[id]
	if !ok {
		return
	}
	last := len(x.ids) - 1
	if i != last {
		x.ids[i] = x.ids[last]
		x.n[i] = x.n[last]
		x.tail[i] = x.tail[last]
		copy(x.feats[i*x.dim:(i+1)*x.dim], x.feats[last*x.dim:])
		x.pos[x.ids[i]] = i
	}
	x.ids = x.ids[:last]
	x.n = x.n[:last]
	x.tail = x.tail[:last]
	x.feats = x.feats[:last*x.dim]
	delete(x.pos, id)
}

func (x *index) feature(id string) ([]float32, int, bool) {
	i, ok := x.pos[id]
	if !ok {
		return nil, 0, false
	}
	return x.feats[i*x.dim : (i+1)*x.dim], int(x.n[i]), true
}

type match struct {
	id  string
	llr float64
}

// top returns the k identities with the highest LLR against q, best first,
// leaving out those skip rejects (nil: none). This is the door's hot loop:
// the bound of query.bounded is inlined here for the learnt space, with
// the coefficients of the last count reused, since a function call per
// identity costs as much as the arithmetic.
func (x *index) top(q *query, k int, skip func(string) bool) []match {
	out := make([]match, 0, k+1)
	floor := math.Inf(-1)
	m := q.split()
	lastN := int32(-1)
	var c *coefs
	for i, id := range x.ids {
		b := x.feats[i*x.dim : (i+1)*x.dim]
		var s float64
		if q.s.space != nil && len(out) == k {
			if n := x.n[i]; n != lastN {
				c, lastN = q.coefsFor(int(n)), n
			}
			beta, gamma, head := c.beta[:m], c.gamma[:m], b[:m]
			var h0, h1 float32
			d := 0
			for ; d+2 <= len(head); d += 2 {
				x0, x1 := head[d], head[d+1]
				h0 += x0 * (beta[d]*x0 + gamma[d])
				h1 += x1 * (beta[d+1]*x1 + gamma[d+1])
			}
			for ; d < len(head); d++ {
				h0 += head[d] * (beta[d]*head[d] + gamma[d])
			}
			t := float64(x.tail[i])
			rest := min(c.rest, c.restBeta*t*t+c.restGamma*t)
			if c.c+float64(h0+h1)+rest+pruneMargin <= floor {
				continue
			}
			s = q.llr(b, int(x.n[i]))
		} else {
			s = q.bounded(b, int(x.n[i]), x.tail[i], floor)
		}
		if len(out) == k && s <= out[k-1].llr {
			continue
		}
		if skip != nil && skip(id) {
			continue
		}
		j := len(out)
		if j < k {
			out = append(out, match{})
		} else {
			j = k - 1
		}
		for j > 0 && out[j-1].llr < s {
			out[j] = out[j-1]
			j--
		}
		out[j] = match{id, s}
		if len(out) == k {
			floor = out[k-1].llr
		}
	}
	return out
}
