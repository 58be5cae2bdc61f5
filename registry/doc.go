// Package registry maps DSN schemes to backends and opens stores by DSN.
//
// Each backend package registers its scheme from init, so a program selects
// the backends it supports by importing them (a blank import of
// github.com/apt-detection/alertstore/backends/all registers every backend
// in this module). Registration does no I/O; Open does, bounded by ctx.
package registry
