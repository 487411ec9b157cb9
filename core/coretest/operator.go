package coretest

import "testing"

// RunOperator runs the operator-view conformance cases (issue 3) against h.
func RunOperator(t *testing.T, h Harness) {
	run(t, &h, "Operator", append(operatorCases(), stuckCases()...))
}
