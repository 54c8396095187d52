// Package lifecycle runs the operator's HTTP servers and background loops
// from start to exit, the same way in local, Core and azure-aks modes: one
// server constructor with explicit timeouts, one supervisor for the loops (a
// loop's error is fatal), a liveness heartbeat, and the drain on SIGTERM
// (readiness 503 at once → keep serving for the drain delay, every response
// carrying "Connection: close" → Shutdown within its timeout → exit 0).
//
// Why a delay: Kubernetes removes a terminating pod from its Service
// endpoints at the same moment it sends SIGTERM, but kube-proxy, the Azure
// load balancer and clients holding keep-alive connections learn of it
// seconds later. Closing the listener at once drops the requests that are
// still routed here; serving them for a while, and asking every client to
// reconnect elsewhere with "Connection: close", loses none.
//
// A Process is safe for concurrent use; its zero value is not: use New.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

// Defaults of the liveness heartbeat (the drain's are config's:
// config.DefaultDrainDelay and config.DefaultShutdownTimeout).
const (
	// DefaultLivenessLimit is how old the heartbeat may get before
	// liveness fails: the runtime could not run a goroutine for that long.
	DefaultLivenessLimit = 30 * time.Second
	// HeartbeatPeriod is how often the heartbeat goroutine beats.
	HeartbeatPeriod = time.Second
	// MaxHeaderBytes bounds request headers on every server.
	MaxHeaderBytes = 64 << 10
)

// Timeouts of one HTTP server. Read, Write and Idle must be positive.
type Timeouts struct {
	// Read bounds reading a whole request, headers and body; it also bounds
	// reading the headers alone unless ReadHeader is set.
	Read time.Duration
	// ReadHeader bounds reading the request headers (Read when 0).
	ReadHeader time.Duration
	// Write bounds writing a response, from the end of its request headers.
	// A response still being written then is cut (and logged).
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration
}

// Options configure a Process.
type Options struct {
	// DrainDelay is how long the servers keep serving after the stop signal
	// (0: Shutdown at once).
	DrainDelay time.Duration
	// ShutdownTimeout bounds Shutdown: in-flight requests get this long to
	// finish before their connections are closed.
	ShutdownTimeout time.Duration
	// LivenessLimit is DefaultLivenessLimit when 0.
	LivenessLimit time.Duration
	// OnDrain is called once, first thing when the drain starts, with the
	// reason ("shutting down" or the fatal error): it makes readiness 503.
	OnDrain func(reason string)
	// OnCut is called for every response cut by the write timeout (a metric).
	OnCut func()
	Log   *slog.Logger
	// Clock runs the heartbeat and the drain delay; nil: the system clock.
	Clock clock.Clock
}

// Process is the lifecycle of one operator process.
type Process struct {
	opt       Options
	log       *slog.Logger
	draining  atomic.Bool
	heartbeat atomic.Int64 // unix nanoseconds of the last beat
	failOnce  sync.Once
	failed    chan struct{}
	failMsg   atomic.Pointer[string]
}

// New returns a Process for opt.
func New(opt Options) *Process {
	if opt.LivenessLimit <= 0 {
		opt.LivenessLimit = DefaultLivenessLimit
	}
	opt.Clock = clock.Or(opt.Clock)
	p := &Process{opt: opt, log: opt.Log, failed: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.beat()
	return p
}

// Log returns the process's logger.
func (p *Process) Log() *slog.Logger { return p.log }

// Draining reports whether the drain has started.
func (p *Process) Draining() bool { return p.draining.Load() }

// Fail starts a drain without the delay because the process must exit
// (core-and-optout.md §5.2: the reference exits at once). In-flight requests
// still finish within the shutdown timeout.
func (p *Process) Fail(reason string) {
	p.failOnce.Do(func() {
		p.failMsg.Store(&reason)
		close(p.failed)
	})
}

func (p *Process) beat() { p.heartbeat.Store(p.opt.Clock.Now().UnixNano()) }

// Live reports whether the process is alive: the heartbeat goroutine ran
// within the liveness limit. It fails only when the runtime is wedged (a
// deadlock of the scheduler, a GC death spiral at the memory limit, CPU
// starvation), never because Core or a store is unhealthy, so a Core outage
// never restarts pods that could not attest again.
func (p *Process) Live() (bool, string) {
	age := p.opt.Clock.Now().Sub(time.Unix(0, p.heartbeat.Load()))
	if age > p.opt.LivenessLimit {
		return false, fmt.Sprintf("heartbeat: none for %s (limit %s)", age.Truncate(time.Second), p.opt.LivenessLimit)
	}
	return true, ""
}

// runHeartbeat beats every HeartbeatPeriod until ctx ends.
func (p *Process) runHeartbeat(ctx context.Context) {
	t := p.opt.Clock.NewTicker(HeartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			p.beat()
		}
	}
}

// NewServer returns an http.Server for h with the given timeouts: during a
// drain its responses carry "Connection: close", and responses cut by the
// write timeout are logged. Serve it with Process.Serve.
func (p *Process) NewServer(name string, h http.Handler, t Timeouts) *http.Server {
	srv := NewServer(name, p.wrap(h), t, p.log)
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if w, ok := c.(*watchedConn); ok {
			return context.WithValue(ctx, connKey{}, w)
		}
		return ctx
	}
	return srv
}

// NewServer returns an http.Server for h with the given timeouts, request
// headers bounded to MaxHeaderBytes and its errors logged to log (nil:
// discarded) under the server's name. It is the one constructor of every
// server the binary runs: the operator's and the stand-in Core's (through
// Process.NewServer, which adds the drain) and the pprof endpoint's.
func NewServer(name string, h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	readHeader := t.ReadHeader
	if readHeader <= 0 {
		readHeader = t.Read
	}
	return &http.Server{
		Handler:           h,
		ReadTimeout:       t.Read,
		ReadHeaderTimeout: readHeader,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.With("server", name).Handler(), slog.LevelWarn),
	}
}

// wrap marks responses during the drain and remembers each connection's
// current request path for the cut log.
func (p *Process) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.draining.Load() {
			// net/http closes the connection after this response; the
			// client reconnects, to a pod that is not draining.
			w.Header().Set("Connection", "close")
		}
		if c, ok := r.Context().Value(connKey{}).(*watchedConn); ok {
			c.request(&r.URL.Path) // a pointer into the request: no allocation
		}
		h.ServeHTTP(w, r)
	})
}

// Listener is one server with its bound listener.
type Listener struct {
	Name   string
	Server *http.Server
	Ln     net.Listener
}

// Loop is a background loop (Core sync, attestation, the health watchdog):
// it runs until ctx ends and returns nil, or returns an error on a fatal
// condition.
type Loop func(ctx context.Context) error

// Supervise runs every loop until ctx ends or one of them returns an
// error; the first error cancels the others' context. It waits for all of
// them and returns the first error, or nil. It is the operator's one
// supervisor: Serve runs the process's loops with it, and Core mode runs
// its own (re-attestation, each store, opt-out) with it.
func Supervise(ctx context.Context, loops ...Loop) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, loop := range loops {
		g.Go(func() error { return loop(ctx) })
	}
	return g.Wait()
}

// Serve serves every listener and runs every loop until ctx ends (SIGTERM),
// Fail is called, a loop returns an error or a server fails, then drains:
//
//  1. OnDrain (readiness answers 503 from now on);
//  2. keep serving for DrainDelay (skipped after Fail), every response
//     with "Connection: close"; a second SIGINT/SIGTERM cuts the delay and
//     the shutdown short;
//  3. disable keep-alives and Shutdown every server within ShutdownTimeout,
//     then close what is left.
//
// The loops stop when the drain starts. Serve returns nil after a drain
// that ctx started, else the first loop's error (a fatal condition: the
// drain skipped its delay), else the error of a server that failed.
// Keep-alives are disabled only at step 3: disabling them at once would close
// idle connections that a client may be reusing at that very moment, and
// lose that request.
func (p *Process) Serve(ctx context.Context, ls []Listener, loops ...Loop) error {
	hbCtx, stopHB := context.WithCancel(context.Background())
	defer stopHB()
	go p.runHeartbeat(hbCtx)

	// The loops outlive ctx until the drain starts (readiness 503 first).
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	supervised := make([]Loop, len(loops))
	for i, loop := range loops {
		supervised[i] = func(ctx context.Context) error {
			err := loop(ctx)
			if err != nil {
				p.log.Error("fatal: stopping the operator", "err", err)
				p.Fail("fatal: " + err.Error())
			}
			return err
		}
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- Supervise(loopCtx, supervised...) }()

	errc := make(chan error, len(ls))
	for _, l := range ls {
		l.Ln = &watchingListener{Listener: l.Ln, p: p, name: l.Name, writeTimeout: l.Server.WriteTimeout}
		go func() {
			if err := l.Server.Serve(l.Ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s server: %w", l.Name, err)
			}
		}()
	}
	var serveErr error
	delay, reason := p.opt.DrainDelay, "shutting down"
	select {
	case serveErr = <-errc:
		delay, reason = 0, serveErr.Error()
	case <-p.failed:
		delay, reason = 0, *p.failMsg.Load()
	case <-ctx.Done():
	}

	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	cut := make(chan struct{})
	go func() {
		select {
		case <-again:
			p.log.Warn("second signal: cutting the drain short")
			close(cut)
		case <-hbCtx.Done():
		}
	}()

	p.draining.Store(true)
	if p.opt.OnDrain != nil {
		p.opt.OnDrain(reason)
	}
	stopLoops()
	if delay > 0 {
		p.log.Info("draining: readiness is 503; serving for the drain delay with Connection: close",
			"drain_delay", delay.String(), "shutdown_timeout", p.opt.ShutdownTimeout.String())
		t := p.opt.Clock.NewTimer(delay)
		select {
		case <-t.C():
		case <-cut:
		}
		t.Stop()
	}
	p.log.Info("shutting down: draining in-flight requests", "timeout", p.opt.ShutdownTimeout.String())
	shutCtx, cancel := context.WithTimeout(context.Background(), p.opt.ShutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-cut:
			cancel()
		case <-shutCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Server.SetKeepAlivesEnabled(false)
			if err := l.Server.Shutdown(shutCtx); err != nil {
				p.log.Warn("shutdown timeout: closing the remaining connections", "server", l.Name, "err", err)
				l.Server.Close()
			}
		}()
	}
	wg.Wait()
	loopErr := <-loopDone
	p.log.Info("stopped")
	if loopErr != nil {
		return loopErr
	}
	return serveErr
}

// connKey is the context key of a request's *watchedConn.
type connKey struct{}

// watchingListener wraps accepted connections so that a write cut by the
// write timeout is noticed, including the final flush after the handler
// returned, which the handler cannot see.
type watchingListener struct {
	net.Listener
	p            *Process
	name         string
	writeTimeout time.Duration
}

func (l *watchingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, l: l}, nil
}

// watchedConn logs the first write of each request that fails with the
// write deadline.
type watchedConn struct {
	net.Conn
	l    *watchingListener
	path atomic.Pointer[string]
	cut  atomic.Bool // logged for the current request
}

// NetConn returns the wrapped connection, as tls.Conn.NetConn does, so
// other ConnContext hooks can find the connection their listener wrapped.
func (c *watchedConn) NetConn() net.Conn { return c.Conn }

func (c *watchedConn) request(path *string) {
	c.path.Store(path)
	c.cut.Store(false)
}

func (c *watchedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.cut.CompareAndSwap(false, true) {
		path := ""
		if p := c.path.Load(); p != nil {
			path = *p
			if len(path) > 100 {
				path = path[:100]
			}
		}
		c.l.p.log.Warn("response cut by the write timeout; raise --write-timeout if this repeats",
			"server", c.l.name, "path", path, "write_timeout", c.l.writeTimeout.String(), "unwritten_bytes", len(b)-n)
		if c.l.p.opt.OnCut != nil {
			c.l.p.opt.OnCut()
		}
	}
	return n, err
}
