module example.com/alertstore-dirstore

go 1.26.0

toolchain go1.26.11

require github.com/apt-detection/alertstore v0.0.0

require github.com/google/uuid v1.6.0 // indirect

// The example lives in the alertstore repository and builds against the
// code next to it. A real third-party module drops this line and requires
// a released version instead.
replace github.com/apt-detection/alertstore => ../..
