// Package api is sagetrain's training service: the REST API under
// /api/v1/training (the routes the drawing-screening application calls),
// its OpenAPI document, bearer-token auth, health and readiness probes,
// Prometheus metrics and the job dashboard at /.
//
// It holds no job logic: every job operation goes through a JobService
// (implemented by *jobs.Service via FromJobs), so several replicas on one
// PostgreSQL behave as one service.
package api
