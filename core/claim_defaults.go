package core

import "time"

// StuckThresholds returns the thresholds Groups marks stuck groups and
// consumers by (the defaults filled in), so a caller can offer them, for
// example as the min idle of a claim.
func (o *Operator) StuckThresholds() StuckThresholds { return o.stuck }

// DefaultClaimTarget picks the consumer to claim owner's messages to: the
// most recently active member of g (smallest Idle) other than owner, not
// itself marked stuck when another choice exists; "" when g has no other
// member. Ties go to the name that sorts first, so the choice is stable.
func DefaultClaimTarget(g GroupInfo, owner string) string {
	best, bestStuck, bestIdle := "", false, time.Duration(0)
	for _, c := range g.Consumers {
		if c.Name == owner || c.Name == "" {
			continue
		}
		stuck := len(c.Stuck) > 0
		better := best == "" ||
			(bestStuck && !stuck) ||
			(bestStuck == stuck && (c.Idle < bestIdle || c.Idle == bestIdle && c.Name < best))
		if better {
			best, bestStuck, bestIdle = c.Name, stuck, c.Idle
		}
	}
	return best
}

// idleText prints an idle time, "≥ 14m" when it is a lower bound.
func idleText(d time.Duration, lowerBound bool) string {
	if lowerBound {
		return "≥ " + HumanDuration(d)
	}
	return HumanDuration(d)
}
