package frame

// Pool recycles frame buffers: at 15 frames a second a camera would
// otherwise allocate (and the garbage collector free) 14 MB a second at
// 640x480. It keeps at most the number of buffers it was made with; any
// more are left to the garbage collector.
type Pool struct {
	free chan []byte
}

// NewPool keeps up to n idle buffers.
func NewPool(n int) *Pool { return &Pool{free: make(chan []byte, max(n, 1))} }

// Get returns a buffer of size bytes, reused if one of that size is idle.
func (p *Pool) Get(size int) []byte {
	for {
		select {
		case b := <-p.free:
			if len(b) == size {
				return b
			}
			// A buffer of another size (the camera changed resolution):
			// drop it and look at the next.
		default:
			return make([]byte, size)
		}
	}
}

// Put gives a buffer back. It never blocks.
func (p *Pool) Put(b []byte) {
	select {
	case p.free <- b:
	default:
	}
}
