package identity

import (
	"fmt"
	"joren/vocab"
	"math"
)

// Two ways to weigh the evidence that a visit shows a known identity, both
// log-likelihood ratios (LLR: log P(same person) - log P(different people))
// computed from the mean and the count of each side's descriptors, so that
// a visit with three descriptors, or an identity seen on six days, counts
// for more than one lone vector:
//
//   - plda, for models with a learnt Space: the two-covariance model.
//     Descriptors of one person scatter around that person's centre with
//     identity covariance (in the space); centres scatter around the
//     population's with variances Psi. The LLR of two sets has a closed
//     form in their means and counts.
//   - distance, for any other model: only the difference of the two means
//     is used, isotropic Gaussian with variance shrinking as 1/k + 1/n for
//     the same person, plus a between-people term for different people.
//     The variances come from the model's measured same-person threshold.
//
// Both are cheap per identity (a few operations per dimension), so a visit
// is compared with every identity in memory.
type scorer struct {
	model vocab.Model
	space *Space // nil: distance model
	dim   int    // feature length
	// distance model: within- and between-person variance per dimension.
	sw2, sb2 float64
	// cosine models' descriptors are compared as unit vectors.
	unit bool
}

// Distance-model calibration: the median same-person distance is
// sameRatio times the model's threshold and the median different-people
// distance diffRatio times it. dlib's measured medians are 0.89 and 1.14
// times its threshold; these two values were set in early exploration on
// months of all 70 shared people (not re-chosen by the held-out protocol
// of docs/identity.md, which therefore flatters this model slightly).
const (
	sameRatio = 0.8
	diffRatio = 1.1
)

func newScorer(model vocab.Model, space *Space) (*scorer, error) {
	if model.Dim <= 0 {
		return nil, fmt.Errorf("model %s has no dimension", model.ID())
	}
	s := &scorer{model: model, space: space}
	if space != nil {
		if space.In != model.Dim {
			return nil, fmt.Errorf("learnt space for %s takes %d values, model %s has %d", space.Model, space.In, model.ID(), model.Dim)
		}
		s.dim = space.Out()
		return s, nil
	}
	t := model.Threshold
	if t <= 0 {
		return nil, fmt.Errorf("model %s has no same-person threshold: it must be measured before identities can be matched", model.ID())
	}
	if model.Metric == vocab.Cosine {
		// For unit vectors |a-b|² = 2(1 - cos): the cosine threshold t is
		// the Euclidean distance sqrt(2t).
		s.unit = true
		t = math.Sqrt(2 * t)
	}
	s.dim = model.Dim
	d := float64(model.Dim)
	s.sw2 = (sameRatio * t) * (sameRatio * t) / (2 * d)
	s.sb2 = (diffRatio*t)*(diffRatio*t)/(2*d) - s.sw2
	return s, nil
}

// kind names the scorer in logs and reports.
func (s *scorer) kind() string {
	if s.space != nil {
		return "plda"
	}
	return "distance"
}

// feature maps a descriptor, or the mean of some, to the scorer's space:
// both maps are linear (the unit normalisation of cosine models aside), so
// the feature of a mean is the mean of the features.
func (s *scorer) feature(d []float32, dst []float32) []float32 {
	if cap(dst) < s.dim {
		dst = make([]float32, s.dim)
	}
	dst = dst[:s.dim]
	if s.space != nil {
		s.space.project(d, dst)
		return dst
	}
	copy(dst, d)
	if s.unit {
		var n float64
		for _, v := range dst {
			n += float64(v) * float64(v)
		}
		if n > 0 {
			inv := float32(1 / math.Sqrt(n))
			for i := range dst {
				dst[i] *= inv
			}
		}
	}
	return dst
}

// maxCount bounds the counts the coefficient tables cover; larger counts
// are scored as this many (the evidence has long converged).
const maxCount = 256

// query is one side of the comparisons (a visit, or an identity during
// maintenance): its mean feature a over k descriptors. Coefficients that
// depend on the other side's count n are computed once per n. A query can
// be reset and reused, so that deciding a visit allocates nothing once warm
// (garbage collection pauses would show in the door's latency).
type query struct {
	s    *scorer
	a    []float32
	k    float64
	gen  uint32
	coef [maxCount + 1]coefs
}

type coefs struct {
	gen uint32  // valid when equal to the query's gen
	c   float64 // constant term
	// rest bounds from above what the dimensions from split on can add
	// (plda): each one's term is a concave quadratic in b. restBeta is
	// the largest (least negative) β and restGamma |γ| over those
	// dimensions, for a bound that also uses the identity's |b|.
	rest, restBeta, restGamma float64
	beta                      []float32 // plda: coefficient of b²
	gamma                     []float32 // plda: coefficient of b (a folded in)
	c2                        float64   // distance: coefficient of |a-b|²
}

func (s *scorer) query(a []float32, k int) *query {
	q := &query{s: s}
	q.reset(a, k)
	return q
}

// reset makes q the query of a (kept, not copied) over k descriptors.
func (q *query) reset(a []float32, k int) {
	q.a, q.k = a, float64(max(k, 1))
	q.gen++
	if q.gen == 0 { // wrapped: every stamp is stale anyway
		for i := range q.coef {
			q.coef[i].gen = 0
		}
		q.gen = 1
	}
}

func (q *query) coefsFor(n int) *coefs {
	n = min(max(n, 1), maxCount)
	c := &q.coef[n]
	if c.gen == q.gen {
		return c
	}
	c.gen = q.gen
	s := q.s
	nf := float64(n)
	c.c, c.rest, c.restBeta, c.restGamma = 0, 0, math.Inf(-1), 0
	if s.space != nil {
		if len(c.beta) != s.dim {
			c.beta = make([]float32, s.dim)
			c.gamma = make([]float32, s.dim)
		}
		for d, pf := range s.space.Psi {
			p := float64(pf)
			va, vb := p+1/q.k, p+1/nf
			det := va*vb - p*p
			a := float64(q.a[d])
			c.c += 0.5 * (math.Log(va*vb/det) + a*a*(1/va-vb/det))
			c.beta[d] = float32(0.5 * (1/vb - va/det))
			c.gamma[d] = float32(p / det * a)
			if d >= q.split() {
				// b(βb + γ) with β < 0 peaks at -γ²/4β.
				beta, gamma := float64(c.beta[d]), float64(c.gamma[d])
				c.rest += -gamma * gamma / (4 * beta)
				c.restBeta = math.Max(c.restBeta, beta)
				c.restGamma += gamma * gamma
			}
		}
		c.restGamma = math.Sqrt(c.restGamma)
	} else {
		vs := s.sw2 * (1/q.k + 1/nf)
		vd := vs + 2*s.sb2
		c.c = float64(s.dim) / 2 * math.Log(vd/vs)
		c.c2 = 0.5 * (1/vs - 1/vd)
	}
	return c
}

// splitDims is where the pruned scan of index.top checks its bound: the
// first dimensions carry most of the evidence (a space's are sorted by
// between-person variance), so most identities are ruled out early.
const splitDims = 24

// pruneMargin is added to bounds before pruning (LLRs are tens of nats;
// float32 sums are off by far less).
const pruneMargin = 1e-3

func (q *query) split() int { return min(splitDims, q.s.dim) }

// bounded returns the LLR, or, when the first split dimensions already
// show it cannot exceed floor, a value at most floor (cheaper). tail is
// |b| over the dimensions from split on.
func (q *query) bounded(b []float32, n int, tail float32, floor float64) float64 {
	c := q.coefsFor(n)
	m := q.split()
	if c.beta != nil {
		beta, gamma, head := c.beta[:m], c.gamma[:m], b[:m]
		var s float32
		for d, x := range head {
			s += x * (beta[d]*x + gamma[d])
		}
		// Two bounds on the rest: each term's peak, and (Cauchy-Schwarz)
		// β_max|b|² + |γ||b|, tighter for identities far from the query.
		t := float64(tail)
		rest := min(c.rest, c.restBeta*t*t+c.restGamma*t)
		// The margin covers float32 rounding: a pruned identity is never
		// one that would have made the top.
		if up := c.c + float64(s) + rest + pruneMargin; up <= floor {
			return up
		}
		return q.llr(b, n)
	}
	// Distance model: the head's squared distance is part of the whole.
	a, head := q.a[:m], b[:m]
	var dd float32
	for d, x := range head {
		e := a[d] - x
		dd += e * e
	}
	if up := c.c - c.c2*float64(dd) + pruneMargin; up <= floor {
		return up
	}
	return q.llr(b, n)
}

// llr is the log-likelihood ratio that the set with mean feature b over n
// descriptors shows the same person as the query.
func (q *query) llr(b []float32, n int) float64 {
	c := q.coefsFor(n)
	if c.beta != nil {
		beta, gamma := c.beta[:len(b)], c.gamma[:len(b)]
		// Four sums at once: independent additions pipeline better.
		var s0, s1, s2, s3 float32
		d := 0
		for ; d+4 <= len(b); d += 4 {
			x0, x1, x2, x3 := b[d], b[d+1], b[d+2], b[d+3]
			s0 += x0 * (beta[d]*x0 + gamma[d])
			s1 += x1 * (beta[d+1]*x1 + gamma[d+1])
			s2 += x2 * (beta[d+2]*x2 + gamma[d+2])
			s3 += x3 * (beta[d+3]*x3 + gamma[d+3])
		}
		for ; d < len(b); d++ {
			s0 += b[d] * (beta[d]*b[d] + gamma[d])
		}
		return c.c + float64(s0+s1+s2+s3)
	}
	a := q.a[:len(b)]
	var s0, s1, s2, s3 float32
	d := 0
	for ; d+4 <= len(b); d += 4 {
		e0, e1, e2, e3 := a[d]-b[d], a[d+1]-b[d+1], a[d+2]-b[d+2], a[d+3]-b[d+3]
		s0 += e0 * e0
		s1 += e1 * e1
		s2 += e2 * e2
		s3 += e3 * e3
	}
	for ; d < len(b); d++ {
		e := a[d] - b[d]
		s0 += e * e
	}
	return c.c - c.c2*float64(s0+s1+s2+s3)
}
