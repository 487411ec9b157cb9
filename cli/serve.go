package cli

import (
	"github.com/spf13/cobra"
)

// serveCommand is `mqscope serve`: the console over SSH. The server itself
// is Options.Serve (package serve); this parses its flags over [serve].
func (a *app) serveCommand() *cobra.Command {
	var listen, keys, hostKey string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the console over SSH to a team (public-key auth, per-key roles)",
		Long: `Serve the console over SSH: every session gets its own console, at its own size
and colours, on the contexts of this server's config; credentials stay here.

Keys come from an OpenSSH authorized_keys file (--authorized-keys or [serve]
authorized_keys). A key's role is an environment option on its line:

  environment="MQSCOPE_ROLE=operator",environment="MQSCOPE_CONTEXTS=prod,staging" ssh-ed25519 AAAA… alice

A key with no role is a viewer (read-only); MQSCOPE_CONTEXTS limits the contexts
it may open (default: all). Unknown keys, passwords and keyboard-interactive are
refused. The host key is generated once (ed25519, 0600) and reused.

  ssh -p 2222 HOST                       the console
  ssh -p 2222 HOST -- topics -o json     a command, with the same role rules
                                         (mutating commands need --yes)`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load()
			if err != nil {
				return err
			}
			s := cfg.Serve
			f := cmd.Flags()
			if f.Changed("listen") || s.Listen == "" {
				s.Listen = listen
			}
			if f.Changed("authorized-keys") {
				s.AuthorizedKeys = keys
			}
			if f.Changed("host-key") {
				s.HostKey = hostKey
			}
			if f.Changed("max-sessions") || s.MaxSessions == 0 {
				s.MaxSessions, _ = f.GetInt("max-sessions")
			}
			if f.Changed("idle-timeout") || s.IdleTimeout == 0 {
				s.IdleTimeout, _ = f.GetDuration("idle-timeout")
			}
			if s.AuthorizedKeys == "" {
				return usageErr("serve needs the keys it lets in: --authorized-keys FILE (OpenSSH format) or [serve] authorized_keys in the config")
			}
			if s.MaxSessions < 1 {
				return usageErr("--max-sessions %d: want 1 or more", s.MaxSessions)
			}
			if err := a.openLog(); err != nil {
				return &exitError{ExitBroker, err}
			}
			env := ServeEnv{ConsoleEnv: ConsoleEnv{Config: cfg, Logger: a.logger, Flags: a.flags, Stdout: a.o.Stdout, Stderr: a.o.Stderr}, Serve: s}
			if code := a.o.Serve(cmd.Context(), env); code != 0 {
				return &exitError{code: code}
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", DefaultListen, "listen on `ADDRESS` (host:port)")
	f.StringVar(&keys, "authorized-keys", "", "OpenSSH authorized_keys `FILE`: the keys let in, with their roles")
	f.StringVar(&hostKey, "host-key", "", "host key `FILE` (generated once if missing; default $XDG_STATE_HOME/mqscope/ssh_host_ed25519_key)")
	f.Int("max-sessions", DefaultMaxSessions, "refuse sessions beyond `N`")
	f.Duration("idle-timeout", DefaultIdleTimeout, "disconnect a console with no keystroke for this long (0: never)")
	f.BoolVar(&a.flags.Demo, "demo", false, "serve the embedded demo even when contexts are configured")
	return cmd
}
