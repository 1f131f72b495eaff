package api

import (
	"encoding/json"
	"testing"
)

// TestStateWire: a state travels as its plain word, both ways.
func TestStateWire(t *testing.T) {
	b, err := json.Marshal(Lease{State: StateCommitting})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["state"] != "committing" {
		t.Fatalf("marshalled state: %v (%v), want the word committing", raw["state"], err)
	}
	var l Lease
	if err := json.Unmarshal([]byte(`{"state":"releasing"}`), &l); err != nil || l.State != StateReleasing {
		t.Fatalf("unmarshalled state: %q (%v)", l.State, err)
	}
}

// TestParseState: every state parses to itself, anything else is an error
// naming the valid states.
func TestParseState(t *testing.T) {
	for _, s := range States {
		if got, err := ParseState(string(s)); got != s || err != nil {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, word := range []string{"", "Active", "paused", "active "} {
		_, err := ParseState(word)
		want := `unknown lease state "` + word + `" (valid: held, committing, active, releasing, released, failed)`
		if err == nil || err.Error() != want {
			t.Errorf("ParseState(%q): %v, want %s", word, err, want)
		}
	}
}

// TestLive: the four states that own a VLAN are live; ended and unknown
// states are not.
func TestLive(t *testing.T) {
	live := map[State]bool{StateHeld: true, StateCommitting: true, StateActive: true, StateReleasing: true,
		StateReleased: false, StateFailed: false, "paused": false, "": false}
	for s, want := range live {
		if s.Live() != want {
			t.Errorf("%q.Live() = %v, want %v", s, s.Live(), want)
		}
	}
}
