package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds a completion's broker look-up: a shell must not
// hang on a slow broker.
const completionTimeout = 2 * time.Second

func (a *app) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, err := a.load()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	return cfg.Names(), cobra.ShellCompDirectiveNoFileComp
}

// completeTopicGroup completes the first argument with topics and the
// second (for commands that take a GROUP) with the topic's groups.
func (a *app) completeTopicGroup(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	const none = cobra.ShellCompDirectiveNoFileComp
	wantsGroup := strings.Contains(cmd.Use, "GROUP")
	if len(args) > 1 || (len(args) == 1 && !wantsGroup) {
		return nil, none
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	if a.timeout == 0 {
		a.timeout = completionTimeout
	}
	op, err := a.operator(ctx)
	if err != nil {
		return nil, none | cobra.ShellCompDirectiveError
	}
	var out []string
	if len(args) == 0 {
		ts, err := op.Topics(ctx)
		if err != nil {
			return nil, none | cobra.ShellCompDirectiveError
		}
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out, none
	}
	gs, err := op.Groups(ctx, args[0])
	if err != nil {
		return nil, none | cobra.ShellCompDirectiveError
	}
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out, none
}
