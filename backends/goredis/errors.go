package goredis

import "github.com/apt-detection/alertstore/backends/internal/goredisconv"

// translate maps a go-redis error to the backend's sentinels at the source
// (see goredisconv.Error for the classes).
var translate = goredisconv.Error
