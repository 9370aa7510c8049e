package server

import (
	"testing"
	"time"
)

// TestRepeatedWarningsAreSummarised: the first warning of a key is logged,
// repeats within the interval are counted, not logged, and the next one
// after it carries the count; another key is independent.
func TestRepeatedWarningsAreSummarised(t *testing.T) {
	r := newRepeatedWarnings(10 * time.Second)
	t0 := time.Unix(1_000_000, 0)
	if ok, n := r.allow("a", t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := 1; i <= 500; i++ {
		if ok, _ := r.allow("a", t0.Add(time.Duration(i)*time.Millisecond)); ok {
			t.Fatalf("repeat %d within the interval was logged", i)
		}
	}
	if ok, n := r.allow("b", t0.Add(time.Second)); !ok || n != 0 {
		t.Fatalf("another key: %v %d", ok, n)
	}
	if ok, n := r.allow("a", t0.Add(10*time.Second)); !ok || n != 500 {
		t.Fatalf("after the interval: logged %v with %d suppressed, want 500", ok, n)
	}
	if ok, _ := r.allow("a", t0.Add(11*time.Second)); ok {
		t.Fatal("the window did not restart")
	}
}
