package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/openwaba/waba/internal/store"
	"github.com/openwaba/waba/internal/wa"
)

// preloadBatch is how many rows one InsertMessages call of the preload carries.
const preloadBatch = 5000

// preloadPeers is how many distinct customers the preloaded history is spread over, so that the
// per-customer indexes are as deep as a busy number's would be.
const preloadPeers = 100_000

// preload stores n finished outbound text messages through the store's own insert (the path
// the group commit uses), so the tables and every index are those of a store that has served n
// messages. They are read, with nothing scheduled, so the dispatcher never looks at them.
// Their ids are made by wa.IDs on a clock a year behind, so they are older than any id the
// running waba makes (the millisecond is in the top bits) and cannot collide with the load's.
func preload(ctx context.Context, st store.Store, business string, n int, progress io.Writer) error {
	old := time.Now().Add(-365 * 24 * time.Hour).UTC()
	ids := wa.NewIDsAt(0xff, func() time.Time { return old })
	rows := make([]store.Message, 0, preloadBatch)
	last := time.Now()
	for i := 0; i < n; {
		rows = rows[:0]
		for ; i < n && len(rows) < preloadBatch; i++ {
			peer := "1555" + strconv.Itoa(2000000+i%preloadPeers)
			id := ids.Next()
			at := old.Add(time.Duration(i) * time.Millisecond)
			rows = append(rows, store.Message{
				ID: id, Direction: store.Outbound, Business: business, Peer: peer, Type: "text",
				Payload: []byte(`{"to":"` + peer + `","type":"text","recipient_type":"individual","text":{"body":"Your order ` +
					strconv.Itoa(i) + ` has shipped and will arrive on Thursday between 9:00 and 12:00."}}`),
				Status: store.StatusRead, State: []byte(`{"devices":1}`), CreatedAt: at, UpdatedAt: at,
			})
		}
		if err := st.InsertMessages(ctx, rows); err != nil {
			return fmt.Errorf("preload: after %d of %d messages: %w", i-len(rows), n, err)
		}
		if progress != nil && (time.Since(last) >= time.Second || i == n) {
			fmt.Fprintf(progress, "preload  %d of %d messages stored\n", i, n)
			last = time.Now()
		}
	}
	return nil
}
