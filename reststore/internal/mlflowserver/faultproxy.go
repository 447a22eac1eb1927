package mlflowserver

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what a FaultProxy does with one connection.
type Fault int

// Faults.
const (
	Pass         Fault = iota // relay both ways
	Delay                     // wait, then relay
	DropAtOnce                // close before reading the request: nothing reached the server
	DropResponse              // relay the request, then close when the answer starts: the server processed it
	numFaults
)

func (f Fault) String() string {
	return [...]string{"pass", "delay", "drop-at-once", "drop-response"}[f]
}

// FaultProxy is a loopback TCP proxy in front of a server that delays and
// drops connections. Each connection gets a fault from Choose; clients
// should not reuse connections (one request per connection), so that
// every request gets its own fault.
type FaultProxy struct {
	Addr string // host:port to connect to

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex // guards choose and rng
	choose func(r *rand.Rand) Fault
	rng    *rand.Rand

	counts [numFaults]atomic.Int64
}

// NewFaultProxy listens on a free loopback port and forwards to target
// (host:port). choose picks each connection's fault (nil: always Pass).
func NewFaultProxy(target string, seed uint64, choose func(r *rand.Rand) Fault) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{Addr: ln.Addr().String(), target: target, ln: ln, choose: choose, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetChoose replaces the fault policy.
func (p *FaultProxy) SetChoose(choose func(r *rand.Rand) Fault) {
	p.mu.Lock()
	p.choose = choose
	p.mu.Unlock()
}

// Counts returns how many connections got each fault.
func (p *FaultProxy) Counts() map[string]int64 {
	out := map[string]int64{}
	for f := Fault(0); f < numFaults; f++ {
		out[f.String()] = p.counts[f].Load()
	}
	return out
}

// Close stops listening and waits for the open connections to end.
func (p *FaultProxy) Close() {
	p.ln.Close()
	p.wg.Wait()
}

func (p *FaultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		f, d := Pass, time.Duration(0)
		if p.choose != nil {
			f = p.choose(p.rng)
			d = time.Duration(50+p.rng.IntN(250)) * time.Millisecond
		}
		p.mu.Unlock()
		p.counts[f].Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c, f, d)
		}()
	}
}

func (p *FaultProxy) handle(client net.Conn, f Fault, delay time.Duration) {
	defer client.Close()
	switch f {
	case DropAtOnce:
		return
	case Delay:
		time.Sleep(delay)
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(server, client)
		server.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	if f == DropResponse {
		// Wait for the first byte of the answer, then drop both sides:
		// the server has processed the request, the client never learns.
		one := make([]byte, 1)
		server.Read(one)
		client.(*net.TCPConn).SetLinger(0)
		return
	}
	io.Copy(client, server)
	<-done
}
