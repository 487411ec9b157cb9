package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is a prometheus.Collector with the library's counters and
// histograms, labelled by backend, topic and group. Create one with
// NewMetrics, pass it with WithMetrics, and register it yourself:
//
//	m := core.NewMetrics("")
//	prometheus.MustRegister(m)
//
// A nil *Metrics records nothing.
type Metrics struct {
	publishedC  *prometheus.CounterVec
	publishErrs *prometheus.CounterVec
	receivedC   *prometheus.CounterVec
	ackedC      *prometheus.CounterVec
	nakedC      *prometheus.CounterVec
	failedC     *prometheus.CounterVec
	deadC       *prometheus.CounterVec
	publishLat  *prometheus.HistogramVec
	handlerLat  *prometheus.HistogramVec
	endToEndLat *prometheus.HistogramVec
	collectors  []prometheus.Collector
}

// NewMetrics creates the collectors; namespace defaults to "mq".
func NewMetrics(namespace string) *Metrics {
	if namespace == "" {
		namespace = "mq"
	}
	pl := []string{"backend", "topic"}
	sl := []string{"backend", "topic", "group"}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	hist := func(name, help string, labels []string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: name, Help: help,
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10), // 50µs … ~13s
		}, labels)
	}
	m := &Metrics{
		publishedC:  counter("published_total", "Messages published successfully.", pl),
		publishErrs: counter("publish_errors_total", "Publish calls that failed.", pl),
		receivedC:   counter("received_total", "Messages delivered to handlers.", sl),
		ackedC:      counter("acked_total", "Messages acked.", sl),
		nakedC:      counter("nacked_total", "Messages negatively acknowledged for redelivery.", sl),
		failedC:     counter("failed_total", "Handler invocations that returned an error or panicked.", sl),
		deadC:       counter("dead_lettered_total", "Messages moved to a dead-letter topic.", sl),
		publishLat:  hist("publish_duration_seconds", "Publish latency.", pl),
		handlerLat:  hist("handler_duration_seconds", "Handler latency.", sl),
		endToEndLat: hist("end_to_end_seconds", "Time from broker timestamp to delivery (where the backend stores one).", sl),
	}
	m.collectors = []prometheus.Collector{m.publishedC, m.publishErrs, m.receivedC, m.ackedC, m.nakedC, m.failedC, m.deadC, m.publishLat, m.handlerLat, m.endToEndLat}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
}

type metricLabels struct{ backend, topic, group string }

func (m *Metrics) published(l metricLabels, d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.publishErrs.WithLabelValues(l.backend, l.topic).Inc()
		return
	}
	m.publishedC.WithLabelValues(l.backend, l.topic).Inc()
	m.publishLat.WithLabelValues(l.backend, l.topic).Observe(d.Seconds())
}

// subMetrics are one subscription's metric series, looked up once at
// Subscribe (a label lookup per message hashes three strings); nil when no
// metrics are registered.
type subMetrics struct {
	received, failed, acked, naked, dead prometheus.Counter
	handlerLat, endToEnd                 prometheus.Observer
}

func (m *Metrics) forSubscription(l metricLabels) *subMetrics {
	if m == nil {
		return nil
	}
	lv := []string{l.backend, l.topic, l.group}
	return &subMetrics{
		received:   m.receivedC.WithLabelValues(lv...),
		failed:     m.failedC.WithLabelValues(lv...),
		acked:      m.ackedC.WithLabelValues(lv...),
		naked:      m.nakedC.WithLabelValues(lv...),
		dead:       m.deadC.WithLabelValues(lv...),
		handlerLat: m.handlerLat.WithLabelValues(lv...),
		endToEnd:   m.endToEndLat.WithLabelValues(lv...),
	}
}

func (m *subMetrics) receivedAt(stored time.Time) {
	m.received.Inc()
	if !stored.IsZero() {
		if d := time.Since(stored); d >= 0 {
			m.endToEnd.Observe(d.Seconds())
		}
	}
}

func (m *subMetrics) handled(d time.Duration, err error) {
	m.handlerLat.Observe(d.Seconds())
	if err != nil {
		m.failed.Inc()
	}
}

func (m *subMetrics) ackedOne() {
	if m != nil {
		m.acked.Inc()
	}
}

func (m *subMetrics) nakedOne() {
	if m != nil {
		m.naked.Inc()
	}
}

func (m *subMetrics) deadLetteredOne() {
	if m != nil {
		m.dead.Inc()
	}
}
