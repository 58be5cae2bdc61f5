// Package all registers every backend of this module with the default
// registry. Programs that accept any DSN (the alertstore command) import it
// for its side effect:
//
//	import _ "github.com/apt-detection/alertstore/backends/all"
//
// Libraries should import only the backends they need.
package all

import (
	_ "github.com/apt-detection/alertstore/backends/bolt"
	_ "github.com/apt-detection/alertstore/backends/chain"
	_ "github.com/apt-detection/alertstore/backends/goredis"
	_ "github.com/apt-detection/alertstore/backends/memory"
	_ "github.com/apt-detection/alertstore/backends/remote"
	_ "github.com/apt-detection/alertstore/backends/valkeygo"
)
