package tui

import (
	"strings"
	"testing"

	"github.com/mqscope/mqscope/core"
)

// TestFormFieldsByKey: every form's fields have distinct keys, and what a
// form submits is read by key: relabelling a field changes nothing.
func TestFormFieldsByKey(t *testing.T) {
	m := viewModel(t, false)
	c := m.com
	forms := map[string]dialog{
		"publish":      newPublishDialog(c, "orders", nil, []byte("x")),
		"claim":        newClaimDialog(c, msgScope{kind: scopePending, topic: "orders", group: "g", info: core.GroupInfo{Name: "g", Consumers: []core.ConsumerInfo{{Name: "w1"}}}}, []string{"1-0"}),
		"move":         newMoveDialog(c, "orders", "g", []string{"1-0"}),
		"replay range": newReplayDialog(c, "orders", nil, true),
		"rewind":       newRewindDialog(c, "orders", "g"),
		"save":         newSaveDialog(c, nil, "out.jsonl"),
		"purge":        newPurgeDialog(c, core.TopicInfo{Name: "orders"}),
	}
	for name, d := range forms {
		f := d.(*formDialog)
		seen := map[fieldKey]bool{}
		for _, fl := range f.fields {
			if fl.key == "" || seen[fl.key] {
				t.Errorf("%s: field %q has key %q (empty or repeated)", name, fl.label, fl.key)
			}
			seen[fl.key] = true
			fl.label = "relabelled " + fl.label
		}
	}
	rr := forms["replay range"].(*formDialog)
	rr.field(fieldFrom).input.SetValue("-15m")
	rr.field(fieldTo).input.SetValue("not a position")
	if _, err := rr.submit(rr); err == nil || !strings.Contains(err.Error(), "not a position") {
		t.Errorf("replay range read its \"to\" field wrongly after relabelling: err %v", err)
	}
	mv := forms["move"].(*formDialog)
	if got := mv.val(fieldDLQ); got != "orders"+c.DLQSuffix {
		t.Errorf("move dialog DLQ field = %q", got)
	}
}
