// go-server: grpc-go (Debian's golang-google-grpc-dev) serving the benchmark's AsillaService
// and StreamBench.Echo with the same deterministic logic as bench-server and peer-server.
// An optional further peer; built by ./build (see there).
//
//	go-server --port P [--threads T]
//
// Listens on 127.0.0.1 only and prints `listening on 127.0.0.1:PORT`. --threads sets
// GOMAXPROCS (default 1). HTTP/2 settings as the other servers: 100 concurrent streams,
// 16 KiB header lists, 1 MiB stream window.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"unicode/utf8"

	"google.golang.org/grpc"

	"bench"
	pb "person"
)

type asillaService struct{}

func (asillaService) GetInfor(_ context.Context, request *pb.RequestInforPerson) (*pb.Person, error) {
	count := int32(utf8.RuneCountInString(request.Name))
	return &pb.Person{Name: request.Name, Id: count, Married: count%2 == 0}, nil
}

func (asillaService) CheckMarried(_ context.Context, request *pb.RequestCheckMaritalStatus) (*pb.RespondGetMaritalStatus, error) {
	return &pb.RespondGetMaritalStatus{Married: utf8.RuneCountInString(request.Name)%2 == 0}, nil
}

type streamBench struct{}

func (streamBench) Echo(stream bench.StreamBench_EchoServer) error {
	for {
		person, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(person); err != nil {
			return err
		}
	}
}

func main() {
	port := flag.Int("port", -1, "port to listen on (0: a free one)")
	threads := flag.Int("threads", 1, "GOMAXPROCS")
	flag.Parse()
	if *port < 0 || *port > 65535 || *threads < 1 {
		fmt.Fprintln(os.Stderr, "usage: go-server --port P [--threads T]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-server:", err)
		os.Exit(1)
	}
	server := grpc.NewServer(
		grpc.MaxConcurrentStreams(100),
		grpc.MaxHeaderListSize(16*1024),
		grpc.InitialWindowSize(1<<20),
		grpc.InitialConnWindowSize(8<<20),
	)
	pb.RegisterAsillaServiceServer(server, asillaService{})
	bench.RegisterStreamBenchServer(server, streamBench{})
	fmt.Printf("listening on %s\n", listener.Addr().String())
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "go-server:", err)
		os.Exit(1)
	}
}
