// Package coretest (directory tests_go) holds black-box tests of package
// core: every search result is compared with a brute-force answer computed
// in this package, or with an independent oracle (gonum's vp-tree and k-d
// tree), and every tree built is checked with Tree.Check.
//
// The tests cover random data in several dimensions for every metric and
// both coordinate types, data full of duplicates and exact ties, data drawn
// from gonum's multivariate distributions, the real data sets kept beside
// the repository, the growth of the build cost, parallel batch queries and
// invalid input.
//
// Real data sets are read from the folder named by the environment variable
// PCCT_DATASETS (a relative path is taken from the module root), by default
// ../shared/datasets from the module root; tests that need a missing file
// skip and say which file they looked for.
//
// The package has no non-test code besides this file: go test ./tests_go/
// runs it, and go test -short trims the largest cases.
package coretest
