package trainer

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// assignGroups divides groups among hosts (sorted names): largest group
// first, each to the host with the fewest training samples so far (ties: the
// first host). Every host computes the same assignment from the same data.
func assignGroups(groups []AgeGroup, hosts []string) map[string]string {
	order := append([]AgeGroup(nil), groups...)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].NTrain != order[j].NTrain {
			return order[i].NTrain > order[j].NTrain
		}
		return order[i].Min < order[j].Min
	})
	load := make([]int, len(hosts))
	out := map[string]string{}
	for _, g := range order {
		best := 0
		for h := range hosts {
			if load[h] < load[best] {
				best = h
			}
		}
		load[best] += g.NTrain
		out[g.Name] = hosts[best]
	}
	return out
}

// groupResult is one trained group as hosts exchange it.
type groupResult struct {
	Name      string
	Host      string
	Params    []float32
	BestEpoch int
	BestVal   float64
	Epochs    int
	History   []autoencoder.EpochStats
}

// hostAddresses parses EnvHostAddresses; hosts missing from it listen on
// "<host>:DefaultExchangePort".
func hostAddresses(hosts []string) (map[string]string, error) {
	addrs := map[string]string{}
	if v := strings.TrimSpace(os.Getenv(EnvHostAddresses)); v != "" {
		for _, kv := range strings.Split(v, ",") {
			h, a, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || h == "" || a == "" {
				return nil, errs.Configuration(EnvHostAddresses+" entry "+strconv.Quote(kv)+" is not host=address:port",
					"write it as algo-1=10.0.0.5:7077,algo-2=10.0.0.6:7077", nil)
			}
			addrs[h] = a
		}
	}
	for _, h := range hosts {
		if addrs[h] == "" {
			addrs[h] = net.JoinHostPort(h, strconv.Itoa(DefaultExchangePort))
		}
	}
	return addrs, nil
}

// exchange is one host's side of the model exchange: it serves its own
// trained groups to every other host, and fetches theirs, so that every host
// ends with the complete model.
type exchange struct {
	self  string
	peers []string // other hosts
	addrs map[string]string
	ln    net.Listener
	log   func(format string, a ...any)

	mu     sync.Mutex
	ready  chan struct{} // closed when own results (or the failure) are set
	own    []groupResult
	failed string // this host failed: peers are told so instead of waiting
	served map[string]bool
	allSrv chan struct{} // closed when every peer has fetched
}

// startExchange listens at once (peers may come early; they retry until we do).
func startExchange(self string, hosts []string, log func(string, ...any)) (*exchange, error) {
	addrs, err := hostAddresses(hosts)
	if err != nil {
		return nil, err
	}
	x := &exchange{self: self, addrs: addrs, log: log, ready: make(chan struct{}), served: map[string]bool{}, allSrv: make(chan struct{})}
	for _, h := range hosts {
		if h != self {
			x.peers = append(x.peers, h)
		}
	}
	listen := addrs[self]
	if host, port, err := net.SplitHostPort(listen); err == nil && net.ParseIP(host) == nil {
		listen = ":" + port // a host name: listen on every interface
	}
	x.ln, err = net.Listen("tcp", listen)
	if err != nil {
		return nil, errs.Job("host "+self+" cannot listen at "+listen+" for the model exchange", "free the port or set "+EnvHostAddresses, err)
	}
	if len(x.peers) == 0 {
		close(x.allSrv)
	}
	go x.serve()
	return x, nil
}

func (x *exchange) serve() {
	for {
		c, err := x.ln.Accept()
		if err != nil {
			return
		}
		go x.handle(c)
	}
}

// handle answers one peer: it reads the peer's name, waits for our results
// and sends them (gob).
func (x *exchange) handle(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	peer := strings.TrimSpace(line)
	<-x.ready
	x.mu.Lock()
	msg := exchangeMsg{Groups: x.own, Failed: x.failed}
	x.mu.Unlock()
	if err := gob.NewEncoder(c).Encode(msg); err != nil {
		return
	}
	// Wait for the peer's acknowledgement, so it is counted only once it has everything.
	var ack [1]byte
	if _, err := c.Read(ack[:]); err != nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.served[peer] {
		x.served[peer] = true
		if len(x.served) == len(x.peers) {
			close(x.allSrv)
		}
	}
}

// exchangeMsg is what a host sends a peer: its trained groups, or why it failed.
type exchangeMsg struct {
	Groups []groupResult
	Failed string
}

// fail tells the peers that this host failed (so they stop waiting for its
// groups) and waits up to grace for them to hear it.
func (x *exchange) fail(ctx context.Context, err error, grace time.Duration) {
	x.mu.Lock()
	select {
	case <-x.ready: // results already published
		x.mu.Unlock()
		return
	default:
	}
	x.failed = err.Error()
	close(x.ready)
	x.mu.Unlock()
	select {
	case <-x.allSrv:
	case <-time.After(grace):
	case <-ctx.Done(): // SIGTERM: no time to wait
	}
}

// finish publishes our results, fetches every peer's, waits until every peer
// has fetched ours, and closes the listener.
func (x *exchange) finish(ctx context.Context, own []groupResult, timeout time.Duration) ([]groupResult, error) {
	defer x.ln.Close()
	x.mu.Lock()
	x.own = own
	close(x.ready)
	x.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	all := append([]groupResult(nil), own...)
	for _, p := range x.peers {
		got, err := x.fetch(ctx, p)
		if err != nil {
			return nil, err
		}
		x.log("received %d trained group(s) from host %s", len(got), p)
		all = append(all, got...)
	}
	select {
	case <-x.allSrv:
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return nil, errs.Job("not every host fetched this host's trained groups in time", "check that all hosts are running and can reach each other; raise host_exchange_timeout_seconds", ctx.Err())
		}
		return nil, ctx.Err()
	}
	return all, nil
}

func (x *exchange) fetch(ctx context.Context, peer string) ([]groupResult, error) {
	var lastErr error
	for {
		got, err := x.fetchOnce(ctx, peer)
		if err == nil {
			return got, nil
		}
		var pf *peerFailed
		if errors.As(err, &pf) {
			return nil, errs.Job("host "+peer+" failed, so the model cannot be completed: "+pf.msg, "see host "+peer+"'s log and output/failure", nil)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, errs.Job(fmt.Sprintf("could not get the trained groups of host %s at %s in time", peer, x.addrs[peer]),
					"check that every host runs and that "+EnvHostAddresses+" is right; raise host_exchange_timeout_seconds", lastErr)
			}
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type peerFailed struct{ peer, msg string }

func (e *peerFailed) Error() string { return "host " + e.peer + " failed: " + e.msg }

func (x *exchange) fetchOnce(ctx context.Context, peer string) ([]groupResult, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", x.addrs[peer])
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := fmt.Fprintln(c, x.self); err != nil {
		return nil, err
	}
	var msg exchangeMsg
	if err := gob.NewDecoder(c).Decode(&msg); err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{1}); err != nil {
		return nil, err
	}
	if msg.Failed != "" {
		return nil, &peerFailed{peer: peer, msg: msg.Failed}
	}
	return msg.Groups, nil
}
