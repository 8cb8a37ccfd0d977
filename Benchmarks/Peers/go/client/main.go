// go-client: a load client on grpc-go (Debian's golang-google-grpc-dev), driving the same
// workloads as bench-client (gRPC Simple) and peer-client (grpc-swift-2), with the same
// flags, the same checks of every answer and the same JSON line of results
// (Benchmarks/Sources/LoadDriver is the reference). An optional further client; built by
// ../build into Benchmarks/.build/go-client.
//
//	go-client WORKLOAD --port P [options]     (go-client --help for the list)
//
// grpc-go's client defaults are kept, BDP estimation included: grpc-go pings the server
// whenever DATA arrives and no probe is outstanding, and grows its windows from the round
// trips. --no-bdp turns it off (fixed 64 KiB windows, as grpc-go does when a window size is
// set). GOMAXPROCS is grpc-go's default: the CPUs the process may run on (one, under
// `taskset -c 1`).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"bench"
	pb "person"
)

const usage = `usage: go-client WORKLOAD --port P [options]
  workloads:
    unary     getInfor: --connections N (4) x --concurrency M (100) calls in flight,
              --payload BYTES (5) name length
    stream    StreamBench.Echo throughput: --connections N (1) x --concurrency C (1) calls,
              --window W (100) messages in flight each, --payload BYTES (16)
    pingpong  one Echo call, one message in flight: latency; --payload BYTES (16)
    idle      open --connections K (1000), one getInfor each; prints ` + "`ready B`" + ` after
              --base B (100) connections and ` + "`ready K`" + ` after all, waiting for a line
              on stdin after each (EOF also continues); then closes them
    streams   --streams S (10000) concurrent Echo calls over --connections N (100): each
              sends one message, waits for its echo, and all end once all have it
  options: --host H (127.0.0.1) --duration S (5) --warmup S (1)
           --server-pid PID (server CPU per call from /proc)
           --malloc-file F (with --server-pid: allocations per call, malloc counter)
           --no-bdp (grpc-go's BDP estimation and its PINGs off: fixed 64 KiB windows)
  output: one JSON line of results on stdout`

type options struct {
	workload    string
	host        string
	port        int
	connections int
	concurrency int
	payload     int
	duration    float64
	warmup      float64
	window      int
	streams     int
	base        int
	serverPID   int
	mallocFile  string
	noBDP       bool
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n%s\n", append(args, usage)...)
	os.Exit(2)
}

func parseOptions(arguments []string) options {
	if len(arguments) == 0 || strings.HasPrefix(arguments[0], "-") {
		if len(arguments) > 0 && (arguments[0] == "-h" || arguments[0] == "--help") {
			fmt.Println(usage)
			os.Exit(0)
		}
		fail("the first argument must be a workload: unary, stream, pingpong, idle, streams")
	}
	o := options{workload: arguments[0]}
	switch o.workload {
	case "unary":
		o.connections, o.concurrency, o.payload = 4, 100, 5
	case "stream", "pingpong":
		o.connections, o.concurrency, o.payload = 1, 1, 16
	case "idle":
		o.connections, o.concurrency, o.payload = 1000, 1, 5
	case "streams":
		o.connections, o.concurrency, o.payload = 100, 1, 16
	default:
		fail("the first argument must be a workload: unary, stream, pingpong, idle, streams")
	}
	flags := flag.NewFlagSet("go-client", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&o.host, "host", "127.0.0.1", "")
	flags.IntVar(&o.port, "port", 0, "")
	flags.IntVar(&o.connections, "connections", o.connections, "")
	flags.IntVar(&o.concurrency, "concurrency", o.concurrency, "")
	flags.IntVar(&o.payload, "payload", o.payload, "")
	flags.Float64Var(&o.duration, "duration", 5, "")
	flags.Float64Var(&o.warmup, "warmup", 1, "")
	flags.IntVar(&o.window, "window", 100, "")
	flags.IntVar(&o.streams, "streams", 10000, "")
	flags.IntVar(&o.base, "base", 100, "")
	flags.IntVar(&o.serverPID, "server-pid", 0, "")
	flags.StringVar(&o.mallocFile, "malloc-file", "", "")
	flags.BoolVar(&o.noBDP, "no-bdp", false, "")
	if err := flags.Parse(arguments[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Println(usage)
			os.Exit(0)
		}
		fail("%v", err)
	}
	if flags.NArg() > 0 {
		fail("unknown argument '%s'", flags.Arg(0))
	}
	switch {
	case o.port < 1 || o.port > 65535:
		fail("--port is required (1-65535)")
	case o.connections < 1 || o.concurrency < 1 || o.window < 1 || o.streams < 1:
		fail("--connections, --concurrency, --window and --streams must be at least 1")
	case o.payload < 0 || o.base < 0 || o.duration < 0 || o.warmup < 0 || o.serverPID < 0:
		fail("bad value")
	}
	return o
}

// MARK: - measuring

func processCPUSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return math.NaN()
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

// clockTicks is _SC_CLK_TCK, 100 on every Linux this runs on.
const clockTicks = 100

func serverCPUSeconds(pid int) (float64, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	text := string(stat)
	close := strings.LastIndexByte(text, ')')
	if close < 0 {
		return 0, false
	}
	fields := strings.Fields(text[close+1:])
	if len(fields) <= 12 {
		return 0, false
	}
	user, err1 := strconv.ParseFloat(fields[11], 64)
	system, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (user + system) / clockTicks, true
}

func residentKiB() (float64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				if value, err := strconv.ParseFloat(fields[1], 64); err == nil {
					return value, true
				}
			}
		}
	}
	return 0, false
}

// mallocCount asks a server running under the malloc counter for its allocation count:
// SIGUSR2, then the report file.
func mallocCount(pid int, file string) (uint64, bool) {
	os.Remove(file)
	if syscall.Kill(pid, syscall.SIGUSR2) != nil {
		return 0, false
	}
	for i := 0; i < 2000; i++ {
		if text, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(text), "\n") {
			if count, err := strconv.ParseUint(strings.Fields(string(text))[0], 10, 64); err == nil {
				return count, true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, false
}

type snapshot struct {
	at          time.Time
	clientCPU   float64
	serverCPU   float64
	hasServer   bool
	allocations uint64
	hasAllocs   bool
}

func takeSnapshot(o options) snapshot {
	var s snapshot
	if o.serverPID > 0 && o.mallocFile != "" {
		s.allocations, s.hasAllocs = mallocCount(o.serverPID, o.mallocFile)
	}
	s.at = time.Now()
	s.clientCPU = processCPUSeconds()
	if o.serverPID > 0 {
		s.serverCPU, s.hasServer = serverCPUSeconds(o.serverPID)
	}
	return s
}

// MARK: - phases and tallies

const (
	phaseWarmup int32 = iota
	phaseMeasuring
	phaseStopping
)

type phase struct{ value int32 }

func (p *phase) current() int32 { return atomic.LoadInt32(&p.value) }
func (p *phase) set(v int32)    { atomic.StoreInt32(&p.value, v) }

// runPhases: warm-up, the measured phase between two snapshots, then stop.
func runPhases(o options, p *phase) (snapshot, snapshot) {
	time.Sleep(time.Duration(o.warmup * float64(time.Second)))
	start := takeSnapshot(o)
	p.set(phaseMeasuring)
	time.Sleep(time.Duration(o.duration * float64(time.Second)))
	p.set(phaseStopping)
	end := takeSnapshot(o)
	return start, end
}

type tally struct {
	completed  int
	latencies  []int64
	errors     int
	firstError string
}

func (t *tally) fail(err error) {
	t.errors++
	if t.firstError == "" {
		t.firstError = err.Error()
	}
}

func (t *tally) merge(other tally) {
	t.completed += other.completed
	t.latencies = append(t.latencies, other.latencies...)
	t.errors += other.errors
	if t.firstError == "" {
		t.firstError = other.firstError
	}
}

// percentile is the nearest-rank value at q of sorted samples.
func percentile(sorted []int64, q float64) (float64, bool) {
	if len(sorted) == 0 {
		return 0, false
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank > len(sorted)-1 {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]), true
}

// MARK: - the JSON line, fields in bench-client's order

type jsonLine struct{ fields []string }

func (l *jsonLine) addInt(key string, value int) {
	l.fields = append(l.fields, fmt.Sprintf("%q:%d", key, value))
}

func (l *jsonLine) addFloat(key string, value float64, ok bool, digits int) {
	if !ok || math.IsNaN(value) || math.IsInf(value, 0) {
		l.fields = append(l.fields, fmt.Sprintf("%q:null", key))
		return
	}
	l.fields = append(l.fields, fmt.Sprintf("%q:%s", key, strconv.FormatFloat(value, 'f', digits, 64)))
}

func (l *jsonLine) addString(key string, value string, ok bool) {
	if !ok {
		l.fields = append(l.fields, fmt.Sprintf("%q:null", key))
		return
	}
	quoted, _ := jsonQuote(value)
	l.fields = append(l.fields, fmt.Sprintf("%q:%s", key, quoted))
}

func jsonQuote(text string) (string, bool) {
	var out strings.Builder
	out.WriteByte('"')
	for _, r := range text {
		switch {
		case r == '"':
			out.WriteString(`\"`)
		case r == '\\':
			out.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	out.WriteByte('"')
	return out.String(), true
}

func (l *jsonLine) text() string { return "{" + strings.Join(l.fields, ",") + "}" }

// report adds the common result fields, as LoadDriver's `report`.
func report(t tally, start, end snapshot, bytesPerItem int, line *jsonLine) {
	seconds := end.at.Sub(start.at).Seconds()
	items := float64(t.completed)
	line.addFloat("seconds", seconds, true, 3)
	line.addInt("completed", t.completed)
	line.addFloat("rate", items/seconds, true, 1)
	line.addFloat("mb_per_s", items*float64(bytesPerItem)/seconds/1e6, true, 3)
	sort.Slice(t.latencies, func(i, j int) bool { return t.latencies[i] < t.latencies[j] })
	p50, ok50 := percentile(t.latencies, 0.50)
	p99, ok99 := percentile(t.latencies, 0.99)
	line.addFloat("p50_us", p50/1e3, ok50, 1)
	line.addFloat("p99_us", p99/1e3, ok99, 1)
	perItem := math.NaN()
	if items > 0 {
		perItem = 1e6 / items
	}
	line.addFloat("client_cpu_s", end.clientCPU-start.clientCPU, true, 3)
	line.addFloat("client_cpu_us_per_item", (end.clientCPU-start.clientCPU)*perItem, true, 2)
	if start.hasServer && end.hasServer {
		line.addFloat("server_cpu_s", end.serverCPU-start.serverCPU, true, 3)
		line.addFloat("server_cpu_us_per_item", (end.serverCPU-start.serverCPU)*perItem, true, 2)
	}
	if start.hasAllocs && end.hasAllocs && items > 0 {
		line.addFloat("server_allocs_per_item", float64(end.allocations-start.allocations)/items, true, 2)
	}
	line.addInt("errors", t.errors)
	line.addString("first_error", t.firstError, t.firstError != "")
}

// MARK: - connections

type connection struct {
	conn   *grpc.ClientConn
	asilla pb.AsillaServiceClient
	stream bench.StreamBenchClient
}

func dial(o options) (*connection, error) {
	dialOptions := []grpc.DialOption{grpc.WithInsecure()}
	if o.noBDP {
		// A window size at or above 64 KiB turns grpc-go's BDP estimation (and its PINGs) off.
		dialOptions = append(dialOptions, grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535))
	}
	// Each Dial is its own ClientConn: its own HTTP/2 connection, made on the first call.
	conn, err := grpc.Dial(fmt.Sprintf("%s:%d", o.host, o.port), dialOptions...)
	if err != nil {
		return nil, err
	}
	return &connection{conn: conn, asilla: pb.NewAsillaServiceClient(conn), stream: bench.NewStreamBenchClient(conn)}, nil
}

// openConnections opens `count` connections, each made real with one checked getInfor;
// at most 64 at a time.
func openConnections(o options, count int, t *tally) []*connection {
	var opened []*connection
	for start := 0; start < count; start += 64 {
		batch := count - start
		if batch > 64 {
			batch = 64
		}
		connections := make([]*connection, batch)
		errs := make([]error, batch)
		var group sync.WaitGroup
		for i := 0; i < batch; i++ {
			group.Add(1)
			go func(i int) {
				defer group.Done()
				c, err := dial(o)
				if err != nil {
					errs[i] = err
					return
				}
				connections[i] = c
				reply, err := c.asilla.GetInfor(context.Background(), &pb.RequestInforPerson{Name: "trung"})
				if err != nil {
					errs[i] = err
				} else if reply.Name != "trung" || reply.Id != 5 || reply.Married {
					errs[i] = fmt.Errorf("wrong getInfor answer: %v", reply)
				}
			}(i)
		}
		group.Wait()
		for i := 0; i < batch; i++ {
			if connections[i] != nil {
				opened = append(opened, connections[i])
			}
			if errs[i] != nil {
				t.fail(errs[i])
			}
		}
	}
	return opened
}

func closeAll(connections []*connection) {
	for _, c := range connections {
		c.conn.Close()
	}
}

func makeName(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	name := make([]byte, n)
	for i := range name {
		name[i] = alphabet[i%len(alphabet)]
	}
	return string(name)
}

// MARK: - workloads

func unary(o options, line *jsonLine) int {
	var total tally
	connections := openConnections(o, o.connections, &total)
	name := makeName(o.payload)
	expectedID := int32(o.payload)
	var p phase
	var start, end snapshot
	phases := make(chan struct{})
	go func() {
		start, end = runPhases(o, &p)
		close(phases)
	}()
	results := make(chan tally)
	workers := 0
	for _, c := range connections {
		for i := 0; i < o.concurrency; i++ {
			workers++
			go func(c *connection) {
				var t tally
				request := &pb.RequestInforPerson{Name: name}
				for p.current() != phaseStopping {
					began := time.Now()
					reply, err := c.asilla.GetInfor(context.Background(), request)
					if err == nil && (reply.Id != expectedID || reply.Married != (expectedID%2 == 0) || reply.Name != name) {
						err = fmt.Errorf("wrong getInfor answer (id %d, %d name bytes)", reply.Id, len(reply.Name))
					}
					if err != nil {
						t.fail(err)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if p.current() == phaseMeasuring {
						t.completed++
						t.latencies = append(t.latencies, int64(time.Since(began)))
					}
				}
				results <- t
			}(c)
		}
	}
	for i := 0; i < workers; i++ {
		total.merge(<-results)
	}
	<-phases
	line.addInt("connections", o.connections)
	line.addInt("concurrency", o.concurrency)
	line.addInt("payload", o.payload)
	report(total, start, end, o.payload, line)
	rss, ok := residentKiB()
	line.addFloat("client_rss_kib", rss, ok, 0)
	closeAll(connections)
	return total.errors
}

func checkEcho(reply *pb.Person, id int32, name string) error {
	if reply.Id != id || reply.Married != (id%2 == 0) || reply.Name != name {
		return fmt.Errorf("wrong echo: id %d, expected %d", reply.Id, id)
	}
	return nil
}

func person(name string, id int32) *pb.Person {
	return &pb.Person{Name: name, Id: id, Married: id%2 == 0}
}

// endEcho ends the request stream and expects the end of the responses.
func endEcho(call bench.StreamBench_EchoClient) error {
	if err := call.CloseSend(); err != nil {
		return err
	}
	if _, err := call.Recv(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("Echo sent more messages than it got")
		}
		return err
	}
	return nil
}

// echoWindow is one Echo call of the stream workload: `window` messages in flight until the
// measured phase ends, then it drains and ends.
func echoWindow(c *connection, o options, name string, p *phase) (t tally) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	call, err := c.stream.Echo(ctx)
	if err != nil {
		t.fail(err)
		return t
	}
	var sent, received int32
	for sent < int32(o.window) {
		if err := call.Send(person(name, sent)); err != nil {
			t.fail(err)
			return t
		}
		sent++
	}
	for received < sent {
		reply, err := call.Recv()
		if err == io.EOF {
			err = fmt.Errorf("Echo ended after %d of %d messages", received, sent)
		}
		if err == nil {
			err = checkEcho(reply, received, name)
		}
		if err != nil {
			t.fail(err)
			return t
		}
		received++
		current := p.current()
		if current == phaseMeasuring {
			t.completed++
		}
		if current != phaseStopping {
			if err := call.Send(person(name, sent)); err != nil {
				t.fail(err)
				return t
			}
			sent++
		}
	}
	if err := endEcho(call); err != nil {
		t.fail(err)
	}
	return t
}

func stream(o options, line *jsonLine) int {
	var total tally
	connections := openConnections(o, o.connections, &total)
	name := makeName(o.payload)
	var p phase
	var start, end snapshot
	phases := make(chan struct{})
	go func() {
		start, end = runPhases(o, &p)
		close(phases)
	}()
	results := make(chan tally)
	workers := 0
	for _, c := range connections {
		for i := 0; i < o.concurrency; i++ {
			workers++
			go func(c *connection) { results <- echoWindow(c, o, name, &p) }(c)
		}
	}
	for i := 0; i < workers; i++ {
		total.merge(<-results)
	}
	<-phases
	line.addInt("connections", o.connections)
	line.addInt("calls_per_connection", o.concurrency)
	line.addInt("window", o.window)
	line.addInt("payload", o.payload)
	report(total, start, end, o.payload, line)
	closeAll(connections)
	return total.errors
}

func pingpong(o options, line *jsonLine) int {
	var total tally
	o.connections = 1
	connections := openConnections(o, 1, &total)
	if len(connections) == 0 {
		line.addInt("errors", total.errors)
		line.addString("first_error", total.firstError, total.firstError != "")
		if total.errors == 0 {
			return 1
		}
		return total.errors
	}
	name := makeName(o.payload)
	var p phase
	var start, end snapshot
	phases := make(chan struct{})
	go func() {
		start, end = runPhases(o, &p)
		close(phases)
	}()
	measured := func() (t tally) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		call, err := connections[0].stream.Echo(ctx)
		if err != nil {
			t.fail(err)
			return t
		}
		var id int32
		for p.current() != phaseStopping {
			began := time.Now()
			if err := call.Send(person(name, id)); err != nil {
				t.fail(err)
				return t
			}
			reply, err := call.Recv()
			if err == io.EOF {
				err = fmt.Errorf("Echo ended early")
			}
			if err == nil && (reply.Id != id || reply.Name != name) {
				err = fmt.Errorf("wrong echo: id %d, expected %d", reply.Id, id)
			}
			if err != nil {
				t.fail(err)
				return t
			}
			if p.current() == phaseMeasuring {
				t.completed++
				t.latencies = append(t.latencies, int64(time.Since(began)))
			}
			id++
		}
		if err := endEcho(call); err != nil {
			t.fail(err)
		}
		return t
	}()
	total.merge(measured)
	<-phases
	line.addInt("payload", o.payload)
	report(total, start, end, o.payload, line)
	closeAll(connections)
	return total.errors
}

func idle(o options, line *jsonLine) int {
	var total tally
	base := o.base
	if base > o.connections {
		base = o.connections
	}
	stdin := bufio.NewReader(os.Stdin)
	began := time.Now()
	connections := openConnections(o, base, &total)
	opening := time.Since(began)
	fmt.Printf("ready %d\n", len(connections))
	stdin.ReadString('\n')
	began = time.Now()
	connections = append(connections, openConnections(o, o.connections-base, &total)...)
	opening += time.Since(began)
	fmt.Printf("ready %d\n", len(connections))
	stdin.ReadString('\n')
	line.addInt("connections", len(connections))
	line.addInt("base", base)
	line.addFloat("open_seconds", opening.Seconds(), true, 3)
	line.addInt("errors", total.errors)
	line.addString("first_error", total.firstError, total.firstError != "")
	closeAll(connections)
	return total.errors
}

func streams(o options, line *jsonLine) int {
	var total tally
	connections := openConnections(o, o.connections, &total)
	if len(connections) == 0 {
		if total.errors == 0 {
			total.errors = 1
		}
		line.addInt("errors", total.errors)
		line.addString("first_error", total.firstError, total.firstError != "")
		return total.errors
	}
	name := makeName(o.payload)
	began := time.Now()
	var arrived sync.WaitGroup // the barrier: every stream has its echo, or has failed
	arrived.Add(o.streams)
	released := make(chan struct{})
	var allEchoed time.Time
	go func() {
		arrived.Wait()
		allEchoed = time.Now()
		close(released)
	}()
	results := make(chan tally)
	for index := 0; index < o.streams; index++ {
		go func(index int) {
			var t tally
			var once sync.Once
			arrive := func() { once.Do(arrived.Done) }
			err := func() error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				call, err := connections[index%len(connections)].stream.Echo(ctx)
				if err != nil {
					return err
				}
				var failure error
				if err := call.Send(person(name, int32(index))); err != nil {
					failure = err
				} else if reply, err := call.Recv(); err != nil {
					failure = err
					if err == io.EOF {
						failure = fmt.Errorf("Echo ended before its echo")
					}
				} else if reply.Id != int32(index) || reply.Name != name {
					failure = fmt.Errorf("wrong echo")
				}
				arrive()
				<-released
				if failure != nil {
					return failure
				}
				if err := call.CloseSend(); err != nil {
					return err
				}
				if _, err := call.Recv(); err != io.EOF {
					if err == nil {
						return fmt.Errorf("Echo sent more than one message")
					}
					return err
				}
				return nil
			}()
			arrive()
			if err != nil {
				t.fail(err)
			} else {
				t.completed = 1
			}
			results <- t
		}(index)
	}
	for i := 0; i < o.streams; i++ {
		total.merge(<-results)
	}
	ended := time.Now()
	<-released
	line.addInt("connections", len(connections))
	line.addInt("streams", o.streams)
	line.addInt("completed", total.completed)
	line.addFloat("all_echoed_s", allEchoed.Sub(began).Seconds(), true, 3)
	line.addFloat("seconds", ended.Sub(began).Seconds(), true, 3)
	line.addInt("errors", total.errors)
	line.addString("first_error", total.firstError, total.firstError != "")
	closeAll(connections)
	return total.errors
}

func main() {
	o := parseOptions(os.Args[1:])
	var line jsonLine
	line.addString("client", "go-client", true)
	line.addString("workload", o.workload, true)
	var errors int
	switch o.workload {
	case "unary":
		errors = unary(o, &line)
	case "stream":
		errors = stream(o, &line)
	case "pingpong":
		errors = pingpong(o, &line)
	case "idle":
		errors = idle(o, &line)
	case "streams":
		errors = streams(o, &line)
	}
	fmt.Println(line.text())
	if errors != 0 {
		os.Exit(1)
	}
}
