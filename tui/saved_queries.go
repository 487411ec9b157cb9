package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// Saved queries are filters with a name, per context: from the config
// (`[contexts.X.queries]`) and saved from the console (`:save-query NAME`,
// kept in Options.QueriesFile as {"context": {"name": "jq:…"}}). `/` then
// tab cycles them; `:query NAME` applies one.

// LoadSavedQueries reads the queries saved from the console for context
// ctx (none when the file does not exist).
func LoadSavedQueries(path, ctx string) (map[string]string, error) {
	all, err := readSavedQueries(path)
	if err != nil {
		return nil, err
	}
	return all[ctx], nil
}

func readSavedQueries(path string) (map[string]map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("saved queries: %w", err)
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("saved queries %s: %w", path, err)
	}
	return all, nil
}

// queriesSavedMsg answers saveQuery.
type queriesSavedMsg struct {
	name, path string
	err        error
}

// saveQuery adds name = filter for ctx to the file (a command's work,
// never Update's).
func saveQuery(path, ctx, name, filter string) tea.Cmd {
	return func() tea.Msg {
		if path == "" {
			return queriesSavedMsg{name: name, err: errors.New("save query: no state directory")}
		}
		all, err := readSavedQueries(path)
		if err != nil {
			return queriesSavedMsg{name: name, path: path, err: err}
		}
		if all == nil {
			all = map[string]map[string]string{}
		}
		if all[ctx] == nil {
			all[ctx] = map[string]string{}
		}
		all[ctx][name] = filter
		b, err := json.MarshalIndent(all, "", "  ")
		if err == nil {
			err = os.MkdirAll(filepath.Dir(path), 0o700)
		}
		if err == nil {
			tmp := path + ".tmp"
			if err = os.WriteFile(tmp, append(b, '\n'), 0o600); err == nil {
				err = os.Rename(tmp, path)
			}
		}
		if err != nil {
			err = fmt.Errorf("save query %s: %w", name, err)
		}
		return queriesSavedMsg{name: name, path: path, err: err}
	}
}

// queryNames are the saved queries' names, sorted.
func (c *Common) queryNames() []string {
	names := make([]string, 0, len(c.Queries))
	for n := range c.Queries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// nextSavedQuery is the saved query after the one whose text is cur (the
// first when cur is none of them), for tab in the filter line.
func (c *Common) nextSavedQuery(cur string, back bool) (name, text string, ok bool) {
	names := c.queryNames()
	if len(names) == 0 {
		return "", "", false
	}
	i := slices.IndexFunc(names, func(n string) bool { return c.Queries[n] == cur })
	switch {
	case i < 0 && back:
		i = len(names) - 1
	case i < 0:
		i = 0
	case back:
		i = (i + len(names) - 1) % len(names)
	default:
		i = (i + 1) % len(names)
	}
	return names[i], c.Queries[names[i]], true
}

// validQueryName: a word, as in the config file.
func validQueryName(n string) bool {
	return n != "" && !strings.ContainsAny(n, " \t\"'")
}
