package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a person.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	s := r.Settings
	load := fmt.Sprintf("closed loop, %d workers", s.Concurrency)
	if s.Mode == "open" {
		load = fmt.Sprintf("open loop at %s messages/s (at most %d in flight; latency from the due time)", num(s.Rate), s.Concurrency)
	}
	rounds := "1 round"
	if s.Rounds > 1 {
		rounds = fmt.Sprintf("%d rounds, medians shown", s.Rounds)
	}
	fmt.Fprintf(&b, "waba bench: %s, %gs measured after %gs warm-up, %s\n", load, s.DurationSeconds, s.WarmupSeconds, rounds)
	tgt := s.Target
	if tgt == "in-process" {
		tgt = "in-process waba (" + s.DB + ")"
	}
	fmt.Fprintf(&b, "target: %s at %s; mix %s; %d recipients\n", tgt, r.Waba.URL, s.Mix, s.Recipients)
	if s.Preloaded > 0 {
		fmt.Fprintf(&b, "store preloaded with %d finished messages in %.1fs (not measured)\n", s.Preloaded, s.PreloadedSeconds)
	}
	m := r.Machine
	fmt.Fprintf(&b, "machine: %d CPUs", m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(&b, " (%s)", m.CPUModel)
	}
	if m.MemGiB > 0 {
		fmt.Fprintf(&b, ", %g GiB", m.MemGiB)
	}
	fmt.Fprintf(&b, ", %s, %s; load generator and webhook receiver on the same machine\n", m.OS, m.Go)
	if st := r.Setup; st != nil {
		switch {
		case st.WebhookURL == "" && st.Skipped != "":
			fmt.Fprintf(&b, "setup: none (%s); end-to-end figures need the webhook URL and deliverable messages\n", st.Skipped)
		default:
			lat := "the network's default latency (delivered 0.2–1 s after sent, read 1–3 s later)"
			if st.Latency != "" {
				lat = "recipients' delivered and read latency: " + st.Latency
			}
			fmt.Fprintf(&b, "setup (%gs, not measured): webhooks → receiver with sent statuses; %s; %d service windows opened\n",
				st.Seconds, lat, st.Windows)
			if st.Skipped != "" {
				fmt.Fprintf(&b, "setup incomplete: %s\n", st.Skipped)
			}
		}
	}
	if r.Interrupted {
		b.WriteString("INTERRUPTED: the figures cover only what was measured before the stop\n")
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-18s\taccepted/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsent\tnon-2xx\ttransport err\tunsent\t\n", "target")
	row := func(name string, x *Result) {
		fmt.Fprintf(tw, "%-18s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n", name, num(x.AcceptedPerSec),
			msStr(x.Latency.P50), msStr(x.Latency.P90), msStr(x.Latency.P99), msStr(x.Latency.Max),
			x.Sent, x.Non2xx, x.TransportErrors, x.Unsent)
	}
	if r.Baseline != nil {
		row("baseline", r.Baseline)
	}
	row("waba", r.Waba)
	if r.Ratio != nil {
		fmt.Fprintf(tw, "%-18s\t%.2f×\t\t\t%.2f×\t\t\t\t\t\t\n", "waba/baseline", r.Ratio.Throughput, r.Ratio.P99)
	}
	if len(r.Rounds) > 1 {
		for _, rr := range r.Rounds {
			if rr.Baseline != nil {
				row(fmt.Sprintf("  round %d baseline", rr.Round), rr.Baseline)
			}
			row(fmt.Sprintf("  round %d waba", rr.Round), rr.Waba)
		}
	}
	tw.Flush()
	b.WriteString("\n")

	for _, x := range []*Result{r.Baseline, r.Waba} {
		if x == nil || len(x.Errors) == 0 {
			continue
		}
		fmt.Fprintf(&b, "errors (%s):\n", x.Target)
		for _, e := range x.Errors {
			switch {
			case e.Status == 0:
				fmt.Fprintf(&b, "  no answer (transport error) × %d", e.Count)
				if x.LastTransport != "" {
					fmt.Fprintf(&b, ", last: %s", x.LastTransport)
				}
				b.WriteString("\n")
			case e.Code == 0:
				fmt.Fprintf(&b, "  HTTP %d without an error code × %d\n", e.Status, e.Count)
			default:
				fmt.Fprintf(&b, "  HTTP %d, code %d %s × %d\n", e.Status, e.Code, e.Title, e.Count)
			}
		}
	}
	if len(r.Waba.Errors) == 0 && (r.Baseline == nil || len(r.Baseline.Errors) == 0) {
		b.WriteString("errors: none\n")
	}

	cpuLine := func(x *Result) string {
		c := x.CPU
		if c == nil {
			return ""
		}
		who := "this process"
		if x.Target == "waba" && r.Settings.Target == "in-process" {
			who = "this process (waba, load generator, receiver)"
		} else if x.Target == "baseline" {
			who = "this process (baseline, load generator)"
		}
		line := fmt.Sprintf("%s: %s %.2f", x.Target, who, c.Process)
		if c.Server > 0 {
			line += fmt.Sprintf(", waba --pid %.2f", c.Server)
		}
		return line + fmt.Sprintf(", other processes %.2f, idle %.2f", c.Other, c.Idle)
	}
	var cpuParts []string
	for _, x := range []*Result{r.Baseline, r.Waba} {
		if x != nil && x.CPU != nil {
			cpuParts = append(cpuParts, cpuLine(x))
		}
	}
	if len(cpuParts) > 0 {
		fmt.Fprintf(&b, "CPU in cores of %d during the measured window: %s\n", r.Machine.CPUs, strings.Join(cpuParts, "; "))
		if r.Settings.DB == "postgres" {
			b.WriteString("(the PostgreSQL server is a separate process: its CPU counts under other processes)\n")
		}
		for _, rr := range r.Rounds {
			for _, x := range []*Result{rr.Baseline, rr.Waba} {
				if x != nil && x.CPU != nil && x.CPU.Other >= 0.1*float64(r.Machine.CPUs) {
					fmt.Fprintf(&b, "WARNING: other processes used %.2f cores during round %d's %s window; its figures are not comparable\n", x.CPU.Other, rr.Round, x.Target)
				}
			}
		}
	}
	if w := r.Waba.Writer; w != nil {
		fmt.Fprintf(&b, "store writer (SQLite's one write connection): %s transactions/s carrying %.1f writes each; busy %.0f%% of the window; per transaction %.2f ms running the writes + %.2f ms committing; WAL fsyncs %s/s, %.2f ms each\n",
			num(w.TransactionsPerSecond), w.JobsPerTransaction, w.Busy*100, w.RunMs, w.CommitMs, num(w.SyncsPerSecond), w.SyncMs)
	}
	if h := r.Waba.Webhook; h != nil {
		fmt.Fprintf(&b, "webhooks at %s: ", h.URL)
		if h.Statuses == 0 && h.Posts == 0 {
			b.WriteString("none received\n")
		} else {
			fmt.Fprintf(&b, "%s POSTs/s, %s statuses/s, %s delivered/s in the window; %s",
				num(h.PostsPerSec), num(h.StatusesPerSec), num(h.DeliveredPerSec), strings.Join(sortedStatuses(h.ByStatus), ", "))
			if h.Messages > 0 {
				fmt.Fprintf(&b, "; %d inbound messages", h.Messages)
			}
			if h.Invalid > 0 {
				fmt.Fprintf(&b, "; %d payloads were not valid JSON", h.Invalid)
			}
			b.WriteString("\n")
		}
		if e := h.EndToEnd; e != nil {
			fmt.Fprintf(&b, "end-to-end (send → first delivered webhook, 1 in %d ids tracked, %d samples): p50 %s  p90 %s  p99 %s  max %s ms",
				h.SampleEvery, h.E2ESamples, msStr(e.P50), msStr(e.P90), msStr(e.P99), msStr(e.Max))
			if h.Undelivered > 0 {
				fmt.Fprintf(&b, "; %d tracked messages had no delivered status by the end", h.Undelivered)
			}
			b.WriteString("\n")
		} else if h.Note != "" {
			b.WriteString(h.Note + "\n")
		}
	}
	if x := r.Waba.RSS; x != nil {
		if x.EndMiB == 0 {
			fmt.Fprintf(&b, "server RSS (%s): %s\n", x.Source, x.Note)
		} else {
			fmt.Fprintf(&b, "server RSS (%s): %g MiB at the end, %g MiB peak", x.Source, x.EndMiB, x.PeakMiB)
			if x.Note != "" {
				fmt.Fprintf(&b, " (%s)", x.Note)
			}
			b.WriteString("\n")
		}
	} else {
		b.WriteString("server RSS: not measured (give --pid of the waba process)\n")
	}
	if r.ProfileError != "" {
		fmt.Fprintf(&b, "CPU profile: %s\n", r.ProfileError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a rate with thousands separators and one decimal below 100.
func num(f float64) string {
	if f < 100 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(f+0.5), 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func msStr(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}
