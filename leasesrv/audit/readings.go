package audit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// readings keeps device reads from loading the switches, however many
// callers ask: one read at a time per key, shared by every caller asking
// while it runs, and within `every` of the last read that one is answered
// again with its age instead of a new one.
type readings struct {
	every time.Duration
	group singleflight.Group
	mu    sync.Mutex
	last  map[string]reading
}

// reading is one read's answer and when it was complete.
type reading struct {
	at  time.Time
	val any
	err error
}

func newReadings(every time.Duration) *readings {
	return &readings{every: every, last: map[string]reading{}}
}

// get answers key's reading: the last one while it is younger than every
// (unless fresh), else a new one made by read and shared with every caller
// asking meanwhile. A failed read is kept too, so a switch that does not
// answer is not asked again and again. The read goes on when ctx ends, for
// the callers still waiting; read bounds its own device timeouts.
func (c *readings) get(ctx context.Context, key string, fresh bool, read func(context.Context) (any, error)) reading {
	if !fresh {
		c.mu.Lock()
		r, ok := c.last[key]
		c.mu.Unlock()
		if ok && time.Since(r.at) < c.every {
			return r
		}
	}
	shared := context.WithoutCancel(ctx)
	ch := c.group.DoChan(key, func() (any, error) {
		var r reading
		r.val, r.err = read(shared)
		r.at = time.Now()
		c.mu.Lock()
		c.last[key] = r
		c.mu.Unlock()
		return r, nil
	})
	select {
	case res := <-ch:
		return res.Val.(reading)
	case <-ctx.Done():
		return reading{err: ctx.Err()}
	}
}

// age is how long ago a reading was made, in seconds.
func (r reading) age() float64 { return time.Since(r.at).Seconds() }
