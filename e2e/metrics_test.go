package e2e

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the metrics with Prometheus's own text parser and returns
// each sample as name{label=value,...} -> value (a histogram's count as
// name_count).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count{"+strings.Join(labels, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetrics: the opt-in listener serves the Prometheus text format;
// after a failed login, two HTTPS sessions (an upload and a download) and
// an upload past the quota the counters say so; the passive pool is all
// free; the firewall plan does not open the metrics port.
func TestMetrics(t *testing.T) {
	testutil.Need(t, "curl")
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	s := newServer(t, func(c *config.Config) { c.Metrics.Listen = metricsAddr })
	s.addUser("alice", "metrics-pw")
	if out, err := s.ferry("", "user", "set", "alice", "--quota-bytes", "1M"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s.start()
	before := scrape(t, metricsAddr)
	if before["ferry_passive_ports_free{}"] != 40 || before["ferry_passive_ports_in_use{}"] != 0 || before["ferry_bans_active{}"] != 0 {
		t.Errorf("at start: %v", before)
	}
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	api := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	data := writeFile(t, filepath.Join(t.TempDir(), "up.bin"), testutil.RandomBytes(100_000, 5))
	big := writeFile(t, filepath.Join(t.TempDir(), "big.bin"), testutil.RandomBytes(2<<20, 6))
	for _, c := range [][]string{
		{"401", "-u", "alice:wrong", api},
		{"201", "-u", "alice:metrics-pw", "-T", data, api + "up.bin"},
		{"200", "-u", "alice:metrics-pw", "-o", "/dev/null", api + "up.bin"},
		{"507", "-u", "alice:metrics-pw", "-T", big, api + "big.bin"},
	} {
		out, err := run(t, "", "curl", append([]string{"-sS", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}"}, c[1:]...)...)
		if err != nil || out != c[0] {
			t.Fatalf("curl %v: %v %q", c[1:], err, out)
		}
	}
	want := map[string]float64{
		"ferry_logins_total{protocol=https,result=failed}":                    1,
		"ferry_logins_total{protocol=https,result=ok}":                        3,
		"ferry_transfer_bytes_total{direction=in,protocol=https}":             100_000,
		"ferry_transfer_bytes_total{direction=out,protocol=https}":            100_000,
		"ferry_transfer_duration_seconds_count{direction=in,protocol=https}":  1,
		"ferry_transfer_duration_seconds_count{direction=out,protocol=https}": 1,
		"ferry_quota_refusals_total{}":                                        1,
		"ferry_refusals_total{protocol=https}":                                1,
		"ferry_sessions{protocol=https}":                                      0,
		"ferry_password_checks_queued{}":                                      0,
	}
	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = scrape(t, metricsAddr)
		if got["ferry_sessions{protocol=https}"] == 0 {
			break // every session's end is counted
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present: %t), want %v", k, g, ok, v)
		}
	}
	fw, err := s.ferry("", "firewall", "--format", "json")
	_, port, _ := net.SplitHostPort(metricsAddr)
	if err != nil || strings.Contains(fw, `"`+port+`"`) {
		t.Errorf("the firewall plan opens the metrics port %s: %v\n%s", port, err, fw)
	}
}
