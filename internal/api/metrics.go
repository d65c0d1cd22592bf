package api

import (
	"context"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sagetrain/sagetrain/internal/store"
)

// Metrics is the service's Prometheus registry and the hooks other parts
// report into. The reconciler calls ObserveReconcile once per pass; AWS
// clients report every call by adding AWSAPIOption to aws.Config.APIOptions:
//
//	cfg.APIOptions = append(cfg.APIOptions, m.AWSAPIOption)
//
// A nil *Metrics is valid and records nothing, so callers need no checks.
type Metrics struct {
	reg       *prometheus.Registry
	reconcile *prometheus.HistogramVec
	awsCalls  *prometheus.CounterVec
	awsErrors *prometheus.CounterVec
	requests  *prometheus.HistogramVec
	listCache *prometheus.CounterVec
}

// NewMetrics builds the registry. st, when not nil, feeds the
// sagetrain_jobs{status} gauge at scrape time.
func NewMetrics(st store.Store) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reconcile = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sagetrain_reconcile_duration_seconds",
		Help:    "Duration of one reconciler pass over the live jobs.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
	}, []string{"result"})
	m.awsCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sagetrain_aws_calls_total",
		Help: "AWS API calls by service and operation.",
	}, []string{"service", "operation"})
	m.awsErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sagetrain_aws_errors_total",
		Help: "AWS API calls that failed, by service and operation.",
	}, []string{"service", "operation"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sagetrain_http_request_duration_seconds",
		Help:    "HTTP requests served, by route pattern and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
	}, []string{"route", "code"})
	m.listCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sagetrain_list_cache_requests_total",
		Help: "GET /jobs pages by how the list cache answered: hit, miss (read from the store) or bypass (Cache-Control: no-cache).",
	}, []string{"result"})
	m.reg.MustRegister(m.reconcile, m.awsCalls, m.awsErrors, m.requests, m.listCache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st != nil {
		m.reg.MustRegister(&jobsCollector{st: st})
	}
	return m
}

// Registry is the registry served at /metrics; other parts may register
// their own collectors in it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// observeListCache records how one list request was answered.
func (m *Metrics) observeListCache(result string) {
	if m == nil {
		return
	}
	m.listCache.WithLabelValues(result).Inc()
}

// ObserveReconcile records one reconciler pass.
func (m *Metrics) ObserveReconcile(d time.Duration, err error) {
	if m == nil {
		return
	}
	res := "ok"
	if err != nil {
		res = "error"
	}
	m.reconcile.WithLabelValues(res).Observe(d.Seconds())
}

// ObserveAWSCall records one AWS API call.
func (m *Metrics) ObserveAWSCall(service, operation string, err error) {
	if m == nil {
		return
	}
	m.awsCalls.WithLabelValues(service, operation).Inc()
	if err != nil {
		m.awsErrors.WithLabelValues(service, operation).Inc()
	}
}

// AWSAPIOption is an aws.Config.APIOptions entry that counts every call
// (after retries) and its failures by service and operation.
func (m *Metrics) AWSAPIOption(stack *middleware.Stack) error {
	if m == nil {
		return nil
	}
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sagetrainMetrics",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			m.ObserveAWSCall(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), err)
			return out, md, err
		}), middleware.After)
}

func (m *Metrics) observeRequest(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, statusText(code)).Observe(d.Seconds())
}

func statusText(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

// jobsCollector reads job counts from the store at scrape time, so every
// replica reports the same, current numbers.
type jobsCollector struct{ st store.Store }

var jobsDesc = prometheus.NewDesc("sagetrain_jobs", "Jobs in the store by status.", []string{"status"}, nil)
var jobsUpDesc = prometheus.NewDesc("sagetrain_store_up", "1 when the last count of jobs from the store succeeded.", nil, nil)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc; ch <- jobsUpDesc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.CountByStatus(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(jobsUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(jobsUpDesc, prometheus.GaugeValue, 1)
	for _, s := range store.AllStatuses {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}
