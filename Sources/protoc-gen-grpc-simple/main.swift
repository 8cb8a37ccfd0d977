// Entry point of protoc-gen-grpc-simple: reads a CodeGeneratorRequest from
// stdin and writes the CodeGeneratorResponse to stdout.

GRPCSimpleGenerator.main()
