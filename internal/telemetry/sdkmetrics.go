package telemetry

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkBuckets are the histogram buckets (seconds) of the SDK's timers:
// request and task latencies from a millisecond to long polls and
// end-to-end workflow latencies of minutes.
var sdkBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

type sdkKind int

const (
	kindCounter sdkKind = iota
	kindGauge
	kindHistogram
)

// sdkCollector holds the series the Temporal SDK reports. It is an
// "unchecked" Prometheus collector (Describe sends nothing) because its
// families appear as the SDK emits them; on Collect every family is exposed
// with the union of the label names its series used, missing ones empty.
type sdkCollector struct {
	mu       sync.RWMutex
	families map[string]*sdkFamily
}

type sdkFamily struct {
	name string
	help string
	kind sdkKind

	mu     sync.Mutex
	keys   map[string]struct{}
	series map[string]*sdkSeries
}

type sdkSeries struct {
	labels map[string]string
	// counter and gauge value (math.Float64bits)
	bits atomic.Uint64
	// histogram
	hmu    sync.Mutex
	counts []uint64 // per bucket, not cumulative; last = +Inf
	sum    float64
	count  uint64
}

func newSDKCollector() *sdkCollector {
	return &sdkCollector{families: map[string]*sdkFamily{}}
}

// Describe implements prometheus.Collector. Sending nothing makes this an
// unchecked collector: its families are only known as the SDK emits them.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	fams := make([]*sdkFamily, 0, len(c.families))
	for _, f := range c.families {
		fams = append(fams, f)
	}
	c.mu.RUnlock()
	for _, f := range fams {
		f.collect(ch)
	}
}

func (f *sdkFamily) collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	keys := make([]string, 0, len(f.keys))
	for k := range f.keys {
		keys = append(keys, k)
	}
	series := make([]*sdkSeries, 0, len(f.series))
	for _, s := range f.series {
		series = append(series, s)
	}
	f.mu.Unlock()
	sort.Strings(keys)
	desc := prometheus.NewDesc(f.name, f.help, keys, nil)
	for _, s := range series {
		values := make([]string, len(keys))
		for i, k := range keys {
			values[i] = s.labels[k] // "" when this series lacks the label
		}
		var m prometheus.Metric
		var err error
		switch f.kind {
		case kindCounter:
			m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, math.Float64frombits(s.bits.Load()), values...)
		case kindGauge:
			m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, math.Float64frombits(s.bits.Load()), values...)
		case kindHistogram:
			s.hmu.Lock()
			buckets := make(map[float64]uint64, len(sdkBuckets))
			var cum uint64
			for i, ub := range sdkBuckets {
				cum += s.counts[i]
				buckets[ub] = cum
			}
			count, sum := s.count, s.sum
			s.hmu.Unlock()
			m, err = prometheus.NewConstHistogram(desc, count, sum, buckets, values...)
		}
		if err == nil {
			ch <- m
		}
	}
}

// family returns the family for an exposed name, creating it; nil when the
// name is already used by a family of another kind.
func (c *sdkCollector) family(name, sdkName string, kind sdkKind) *sdkFamily {
	c.mu.RLock()
	f := c.families[name]
	c.mu.RUnlock()
	if f == nil {
		c.mu.Lock()
		if f = c.families[name]; f == nil {
			f = &sdkFamily{name: name, kind: kind, help: "Temporal SDK metric " + sdkName + ".",
				keys: map[string]struct{}{}, series: map[string]*sdkSeries{}}
			c.families[name] = f
		}
		c.mu.Unlock()
	}
	if f.kind != kind {
		return nil
	}
	return f
}

// get returns the series for a label set, creating it.
func (f *sdkFamily) get(key string, labels map[string]string) *sdkSeries {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.series[key]
	if s == nil {
		s = &sdkSeries{labels: labels}
		if f.kind == kindHistogram {
			s.counts = make([]uint64, len(sdkBuckets)+1)
		}
		f.series[key] = s
		for k := range labels {
			f.keys[k] = struct{}{}
		}
	}
	return s
}

func (s *sdkSeries) add(v float64) {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (s *sdkSeries) set(v float64) { s.bits.Store(math.Float64bits(v)) }

func (s *sdkSeries) observe(v float64) {
	i := sort.SearchFloat64s(sdkBuckets, v) // first bucket with upper bound >= v
	s.hmu.Lock()
	s.counts[i]++
	s.count++
	s.sum += v
	s.hmu.Unlock()
}

// sdkHandler implements client.MetricsHandler. Handlers are immutable;
// WithTags returns a new one.
type sdkHandler struct {
	m    *Metrics
	c    *sdkCollector
	tags map[string]string // as given (Riposte's own metrics pick from these)
	// prom holds the sanitised labels and key, computed once per handler.
	promOnce sync.Once
	prom     map[string]string
	key      string
	cache    sync.Map // kind+name -> instrument
}

var _ client.MetricsHandler = (*sdkHandler)(nil)

// WithTags implements client.MetricsHandler: the new tags are added to (and
// override) the handler's.
func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &sdkHandler{m: h.m, c: h.c, tags: merged}
}

func (h *sdkHandler) labels() (map[string]string, string) {
	h.promOnce.Do(func() {
		h.prom = make(map[string]string, len(h.tags))
		for k, v := range h.tags {
			h.prom[sanitizeLabel(k)] = strings.ToValidUTF8(v, "\uFFFD")
		}
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(h.prom)) {
			b.WriteString(k)
			b.WriteByte(0xfe)
			b.WriteString(h.prom[k])
			b.WriteByte(0xff)
		}
		h.key = b.String()
	})
	return h.prom, h.key
}

// pick returns the values of an owned metric's labels from the tags.
func (h *sdkHandler) pick(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = h.tags[n]
	}
	return out
}

func (h *sdkHandler) series(kind sdkKind, name string) *sdkSeries {
	exposed := sanitizeName(name)
	switch kind {
	case kindCounter:
		if !strings.HasSuffix(exposed, "_total") {
			exposed += "_total"
		}
	case kindHistogram:
		if !strings.HasSuffix(exposed, "_seconds") {
			exposed += "_seconds"
		}
	}
	f := h.c.family(exposed, name, kind)
	if f == nil {
		return nil
	}
	labels, key := h.labels()
	return f.get(key, labels)
}

type nopInstrument struct{}

func (nopInstrument) Inc(int64)            {}
func (nopInstrument) Update(float64)       {}
func (nopInstrument) Record(time.Duration) {}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// Counter implements client.MetricsHandler.
func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	return cached(h, "c"+name, func() client.MetricsCounter {
		if rec := h.recorder(kindCounter, name); rec != nil {
			return counterFunc(func(n int64) { rec(float64(n)) })
		}
		return nopInstrument{}
	})
}

// Gauge implements client.MetricsHandler.
func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	return cached(h, "g"+name, func() client.MetricsGauge {
		if rec := h.recorder(kindGauge, name); rec != nil {
			return gaugeFunc(rec)
		}
		return nopInstrument{}
	})
}

// Timer implements client.MetricsHandler: a histogram in seconds.
func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	return cached(h, "t"+name, func() client.MetricsTimer {
		if rec := h.recorder(kindHistogram, name); rec != nil {
			return timerFunc(func(d time.Duration) { rec(d.Seconds()) })
		}
		return nopInstrument{}
	})
}

// cached returns the handler's instrument under key, built once.
func cached[T any](h *sdkHandler, key string, build func() T) T {
	if v, ok := h.cache.Load(key); ok {
		return v.(T)
	}
	v, _ := h.cache.LoadOrStore(key, build())
	return v.(T)
}

// recorder returns where a value of the SDK metric name goes: into the
// metric Riposte owns under that name (labelled from the tags), or into
// the series mirroring the SDK's own metric; nil when nowhere (an owned
// metric without this kind, or a family the collector refuses).
func (h *sdkHandler) recorder(kind sdkKind, name string) func(float64) {
	if om, ok := h.m.owned[name]; ok {
		rec := map[sdkKind]func([]string, float64){kindCounter: om.counter, kindGauge: om.gauge, kindHistogram: om.observe}[kind]
		if rec == nil {
			return nil
		}
		labels := h.pick(om.labels)
		return func(v float64) { rec(labels, v) }
	}
	s := h.series(kind, name)
	if s == nil {
		return nil
	}
	switch kind {
	case kindCounter:
		return func(n float64) {
			if n > 0 {
				s.add(n)
			}
		}
	case kindGauge:
		return s.set
	default:
		return s.observe
	}
}

// sanitizeName makes a metric name valid in the classic Prometheus format:
// [a-zA-Z_:][a-zA-Z0-9_:]*, every other rune becoming '_'.
func sanitizeName(s string) string { return sanitize(s, true) }

// sanitizeLabel makes a label name valid: [a-zA-Z_][a-zA-Z0-9_]*, and not
// starting with "__" (reserved).
func sanitizeLabel(s string) string {
	s = sanitize(s, false)
	if strings.HasPrefix(s, "__") {
		s = "x" + s
	}
	return s
}

func sanitize(s string, colon bool) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (colon && r == ':') || (i > 0 && r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
		case i == 0 && r >= '0' && r <= '9':
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
