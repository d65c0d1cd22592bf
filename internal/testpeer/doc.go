// Package testpeer starts the real servers that tests talk to, on 127.0.0.1
// with free ports, and stops them when the test ends: versitygw (S3), Debian's
// docker-registry, moto (IAM, STS, ECR, CloudWatch Logs, SageMaker API shape)
// and a fresh PostgreSQL database. Our own SageMaker training emulator lives
// in testpeer/sagemakeremu.
//
// A test that cannot find a server's binary fails (it does not skip): the
// README's test command installs them all.
package testpeer
