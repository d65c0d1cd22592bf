package events

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sagetrain/sagetrain/internal/store"
)

// Metrics are the sender's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	events     *prometheus.CounterVec
	outbox     store.Outbox
}

// NewMetrics makes the series; outbox, when not nil, feeds the
// sagetrain_events_outbox{state} gauge at scrape time.
func NewMetrics(outbox store.Outbox) *Metrics {
	return &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sagetrain_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result: ok (2xx), http_error, timeout, error.",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sagetrain_webhook_delivery_duration_seconds",
			Help:    "Duration of webhook delivery attempts.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sagetrain_events_total",
			Help: "Outbox events this process finished working on, by outcome: delivered, pending (to be retried), failed (given up).",
		}, []string{"outcome"}),
		outbox: outbox,
	}
}

// Register adds the series to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{m.deliveries, m.latency, m.events}
	if m.outbox != nil {
		cs = append(cs, &outboxCollector{o: m.outbox})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observeDelivery(r result, d time.Duration) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(string(r)).Inc()
	m.latency.Observe(d.Seconds())
}

func (m *Metrics) observeEvent(state string) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(state).Inc()
}

var outboxDesc = prometheus.NewDesc("sagetrain_events_outbox", "Outbox events not delivered, by state (pending, failed), from the store.", []string{"state"}, nil)

type outboxCollector struct{ o store.Outbox }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.o.CountOutbox(ctx)
	if err != nil {
		return
	}
	for _, st := range []string{store.OutboxPending, store.OutboxFailed} {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n[st]), st)
	}
}
