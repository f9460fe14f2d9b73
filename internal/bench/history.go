package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/riposte-dev/riposte/internal/codec"
)

// historyStats is what the server stores for a sample of completed runs:
// events and bytes per run are deterministic for a given workflow shape
// (they do not depend on the machine's load), so they compare designs
// exactly where throughput on a shared machine cannot.
type historyStats struct {
	Target string
	// Runs is how many histories were read.
	Runs int
	// Events and Bytes per run: history events, and their protobuf
	// encoding as the server stores and sends them (payloads encrypted).
	Events, Bytes float64
	// InputBytes is the start event's input per run (the playbook, when it
	// travels inline, is most of it).
	InputBytes float64
	// Payloads and PayloadBytes are the payloads per run other than
	// search attribute values (inputs, results, summaries, marker data:
	// each encrypted on its own) and their bytes; SearchAttrBytes the
	// search attribute values'. The rest of Bytes is the events' own
	// fields.
	Payloads, PayloadBytes, SearchAttrBytes float64
	// BytesDefaultIdentity is Bytes with every identity in the history
	// (the starter's, and the worker's in each task event) cut to the
	// SDK's default form, "pid@host@" (defaultIdentity: without Riposte's
	// task queue and capability markers after it): what the same
	// runs would store on a worker that announces no capabilities. The
	// baseline runs on Riposte's worker in the benchmark, so its stored
	// events carry Riposte's capability markers; a hand-written
	// deployment's would not.
	BytesDefaultIdentity float64
	// ByType is events per run by event type; BytesByType their bytes per
	// run.
	ByType, BytesByType map[string]float64
	Err                 string
}

// historySampler reads run histories through the client.
type historySampler interface {
	GetWorkflowHistory(ctx context.Context, workflowID string, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// sampleHistories reads the histories of up to n of the workflow ids (the
// first n: the ids are in completion order, so the sample is spread over
// the phase) and averages them.
func sampleHistories(ctx context.Context, c historySampler, target string, ids []string, n int) historyStats {
	st := historyStats{Target: target, ByType: map[string]float64{}, BytesByType: map[string]float64{}}
	if n <= 0 || len(ids) == 0 {
		return st
	}
	step := max(len(ids)/n, 1)
	var events, bytes, plainIDBytes, input, payloads, payloadBytes, saBytes int
	for i := 0; i < len(ids) && st.Runs < n; i += step {
		it := c.GetWorkflowHistory(ctx, ids[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				st.Err = fmt.Sprintf("reading the history of %s: %v", ids[i], err)
				return st
			}
			events++
			size := proto.Size(ev)
			bytes += size
			plainIDBytes += proto.Size(withDefaultIdentity(ev))
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				input += proto.Size(a.GetInput())
			}
			err = proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{
				Visitor: func(vc *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						if _, sa := vc.Parent.(*commonpb.SearchAttributes); sa {
							saBytes += proto.Size(p)
						} else {
							payloads++
							payloadBytes += proto.Size(p)
						}
					}
					return ps, nil
				},
			})
			if err != nil {
				st.Err = fmt.Sprintf("reading the payloads of %s: %v", ids[i], err)
				return st
			}
			typ := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
			st.ByType[typ]++
			st.BytesByType[typ] += float64(size)
		}
		st.Runs++
	}
	if st.Runs == 0 {
		return st
	}
	r := float64(st.Runs)
	st.Events, st.Bytes, st.InputBytes = float64(events)/r, float64(bytes)/r, float64(input)/r
	st.BytesDefaultIdentity = float64(plainIDBytes) / r
	st.Payloads, st.PayloadBytes, st.SearchAttrBytes = float64(payloads)/r, float64(payloadBytes)/r, float64(saBytes)/r
	for k := range st.ByType {
		st.ByType[k] /= r
		st.BytesByType[k] /= r
	}
	return st
}

// defaultIdentity is the SDK's default identity of a worker or client
// found at the start of id: "pid@host@", what a hand-written deployment's
// worker sends (go.temporal.io/sdk gives a worker its client's identity,
// by default "pid@host@"), without the task queue Riposte's workers put
// after it ("pid@host@riposte") nor the capability markers they add after
// that (engine.WorkerIdentity). An identity not of that form is cut
// before its first space.
func defaultIdentity(id string) string {
	base, _, _ := strings.Cut(id, " ")
	if pid, rest, ok := strings.Cut(base, "@"); ok {
		if host, _, ok := strings.Cut(rest, "@"); ok {
			return pid + "@" + host + "@"
		}
	}
	return base
}

// withDefaultIdentity returns ev, or a copy of it with every string field
// named identity, at any depth, cut to defaultIdentity.
func withDefaultIdentity(ev *historypb.HistoryEvent) *historypb.HistoryEvent {
	c := proto.Clone(ev).(*historypb.HistoryEvent)
	if cutIdentities(c.ProtoReflect()) {
		return c
	}
	return ev
}

func cutIdentities(m protoreflect.Message) bool {
	changed := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind && fd.Name() == "identity" && !fd.IsList() && !fd.IsMap():
			if base := defaultIdentity(v.String()); base != v.String() {
				m.Set(fd, protoreflect.ValueOfString(base))
				changed = true
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				changed = cutIdentities(l.Get(i).Message()) || changed
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					changed = cutIdentities(mv.Message()) || changed
					return true
				})
			}
		case fd.Kind() == protoreflect.MessageKind:
			changed = cutIdentities(v.Message()) || changed
		}
		return true
	})
	return changed
}

// typesLine lists events per run by type, most frequent first.
func (h historyStats) typesLine() string {
	type kv struct {
		k string
		v float64
	}
	var all []kv
	for k, v := range h.ByType {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	parts := make([]string, len(all))
	for i, e := range all {
		parts[i] = fmt.Sprintf("%s %.4g", e.k, e.v)
		if b, ok := h.BytesByType[e.k]; ok {
			parts[i] += fmt.Sprintf(" (%.0f B)", b)
		}
	}
	return strings.Join(parts, ", ")
}

// dumpHistory writes one run's history to dir as the server stores it
// (<target>.history.json) and a table of its payloads (<target>.payloads.txt):
// per event, each payload's stored size and, decrypted with keys, its
// plaintext size and encoding, so a change to the workflow's shape can be
// judged payload by payload.
func dumpHistory(ctx context.Context, c historySampler, keys *codec.Keyring, dir, target, id string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("reading the history of %s: %w", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	js, err := protojson.MarshalOptions{Multiline: true}.Marshal(h)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, target+".history.json"), js, 0o644); err != nil {
		return err
	}
	var dec *codec.Codec
	if keys != nil {
		dec = codec.NewCodec(keys)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s, %d events, %d B\n# event type: stored B, then per payload: stored B / plaintext B encoding\n", target, id, len(h.Events), proto.Size(h))
	for _, ev := range h.Events {
		fmt.Fprintf(&b, "%d %s: %d B\n", ev.GetEventId(), strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"), proto.Size(ev))
		err := proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{
			Visitor: func(vc *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				for _, p := range ps {
					line := fmt.Sprintf("    %T: %d B", vc.Parent, proto.Size(p))
					if dec != nil {
						if out, err := dec.Decode([]*commonpb.Payload{p}); err == nil && out[0] != nil {
							plain := out[0]
							data := string(plain.GetData())
							if len(data) > 4000 {
								data = data[:4000] + "…"
							}
							line += fmt.Sprintf(" / %d B %s %q", len(plain.GetData()), plain.GetMetadata()[converter.MetadataEncoding], data)
						}
					}
					b.WriteString(line + "\n")
				}
				return ps, nil
			},
		})
		if err != nil {
			return err
		}
	}
	// Decrypted: only the owner reads it (the runs are the bench's own).
	return os.WriteFile(filepath.Join(dir, target+".payloads.txt"), []byte(b.String()), 0o600)
}
