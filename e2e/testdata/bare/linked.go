//go:build linked

// Built with -tags linked, the bare server is the cold-start benchmark's
// second yardstick: linked with every knshop function as the image's
// binary is (their packages, dependencies and package init), starting none.
// What it adds to the bare server is what linking costs.
package main

import _ "github.com/knshop/knshop/functions"
