// Command pushbase pushes sagetrain's minimal base image (the one
// `sagetrain image build` uses by default) to a registry, so that ko can be
// given the very same base in the side-by-side benchmark.
package main
