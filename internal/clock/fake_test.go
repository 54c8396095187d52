package clock_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tickLoop is the shape of every operator loop: a ticker, work per tick.
func tickLoop(ctx context.Context, c clock.Clock, d time.Duration, work func(time.Time)) {
	t := c.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-t.C():
			work(at)
		}
	}
}

func TestFakeTickerDeliversEveryTickInOrder(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	var got []time.Duration
	var nowAtTick []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		tickLoop(ctx, f, 10*time.Second, func(at time.Time) {
			got = append(got, at.Sub(t0))
			nowAtTick = append(nowAtTick, f.Now().Sub(t0))
		})
	}()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(9 * time.Second)
	f.Advance(26 * time.Second) // ticks at 10, 20, 30
	if now := f.Now().Sub(t0); now != 35*time.Second {
		t.Fatalf("Now = t0+%s; want t0+35s", now)
	}
	f.Advance(5 * time.Second) // tick at 40: Advance returns once it is received
	f.Advance(10 * time.Second)
	// The tick at 50 s was received, so the work of every earlier tick is done.
	cancel()
	<-done
	want := []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second, 50 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("ticks at %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] || nowAtTick[i] < want[i] {
			t.Fatalf("tick %d at %v (Now %v); want %v", i, got[i], nowAtTick[i], want[i])
		}
	}
	if f.Waiters() != 0 {
		t.Fatalf("Waiters = %d after the loop stopped its ticker; want 0", f.Waiters())
	}
}

// TestFakeAdvanceWaitsForTheLoop: the second Advance returns only after the
// loop finished the first tick's work (it holds the handover).
func TestFakeAdvanceWaitsForTheLoop(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	var finished atomic.Int32
	go tickLoop(ctx, f, time.Minute, func(time.Time) {
		<-release
		finished.Add(1)
	})
	f.BlockUntil(ctx, 1)
	f.Advance(time.Minute) // received; the work waits for release
	second := make(chan struct{})
	go func() {
		f.Advance(time.Minute)
		close(second)
	}()
	select {
	case <-second:
		t.Fatal("Advance returned while the loop was still busy with the previous tick")
	default:
	}
	close(release)
	<-second
	if finished.Load() < 1 {
		t.Fatal("second Advance returned before the first tick's work finished")
	}
}

func TestFakeStoppedTickerDoesNotBlockAdvance(t *testing.T) {
	f := clock.NewFake(t0)
	tk := f.NewTicker(time.Second)
	tk.Stop()
	f.Advance(time.Hour) // nobody reads C: must not block
	if f.Waiters() != 0 {
		t.Fatalf("Waiters = %d; want 0", f.Waiters())
	}
}

func TestFakeTimer(t *testing.T) {
	f := clock.NewFake(t0)
	a := f.NewTimer(time.Second)
	b := f.NewTimer(2 * time.Second)
	if f.Waiters() != 2 {
		t.Fatalf("Waiters = %d; want 2", f.Waiters())
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Millisecond)
	select {
	case at := <-a.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("timer fired at %v; want t0+1s", at)
		}
	default:
		t.Fatal("timer did not fire when due")
	}
	if a.Stop() {
		t.Fatal("Stop of a fired timer = true; want false")
	}
	if !b.Stop() {
		t.Fatal("Stop of an armed timer = false; want true")
	}
	f.Advance(time.Hour)
	select {
	case <-b.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestBlockUntilHonoursContext(t *testing.T) {
	f := clock.NewFake(t0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.BlockUntil(ctx, 1); err == nil {
		t.Fatal("BlockUntil with no waiters and a cancelled context = nil; want an error")
	}
	f.NewTimer(time.Second)
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil with one armed timer = %v; want nil", err)
	}
}

func TestRealClock(t *testing.T) {
	c := clock.Or(nil)
	if c != clock.Real {
		t.Fatal("Or(nil) is not Real")
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Real.Now is %s away from time.Now", d)
	}
}
