// Package image builds sagetrain's training image without a container
// daemon and publishes it: to an OCI layout, a docker-loadable tarball, a
// registry, or ECR (logging in with GetAuthorizationToken and creating the
// repository). Building and publishing are kept apart: Build returns a
// v1.Image, a Publisher writes it somewhere.
package image
