// Package backends registers every mqscope driver with core. Import it once,
// blank if you like, as you would a database/sql driver:
//
//	import _ "github.com/mqscope/mqscope/backends"
package backends

import (
	_ "github.com/mqscope/mqscope/backends/jetstream"
	_ "github.com/mqscope/mqscope/backends/natscore"
	_ "github.com/mqscope/mqscope/backends/redisstream"
)
