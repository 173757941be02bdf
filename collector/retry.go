package collector

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff retries an operation whose errors are classified retryable, with
// exponential backoff and full jitter, within the context's deadline.
type Backoff struct {
	// Attempts in total, at least 1.
	Attempts int
	// Base is the first delay's upper bound; it doubles per attempt.
	Base time.Duration
	// Max caps a delay.
	Max time.Duration
}

// DefaultBackoff is three attempts, 100 ms then 200 ms at most between them.
var DefaultBackoff = Backoff{Attempts: 3, Base: 100 * time.Millisecond, Max: 2 * time.Second}

// Do runs fn until it succeeds, fails permanently, the attempts run out or
// ctx ends; it returns fn's last error, classified.
func (b Backoff) Do(ctx context.Context, fn func(context.Context) error) error {
	delay := b.Base
	var err error
	for attempt := 1; ; attempt++ {
		err = Classify(fn(ctx))
		if err == nil || !errors.Is(err, ErrRetryable) || attempt >= b.Attempts || ctx.Err() != nil {
			return err
		}
		wait := time.Duration(rand.Int64N(int64(delay) + 1))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		if delay *= 2; b.Max > 0 && delay > b.Max {
			delay = b.Max
		}
	}
}
