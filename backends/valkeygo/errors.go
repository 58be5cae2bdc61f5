package valkeygo

import "github.com/apt-detection/alertstore/backends/internal/valkeyconv"

// translate maps a valkey-go error to the backend's sentinels at the source
// (see valkeyconv.Error for the classes).
var translate = valkeyconv.Error
