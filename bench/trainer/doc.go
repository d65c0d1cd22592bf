// Command trainerbench is the Go side of the trainer benchmark (run.sh runs
// it next to the PyTorch peer, torch_bench.py):
//
//	gen -n N -dim D -out FILE.f32     write N×D float32 rows (raw, little-endian) both sides train on
//	throughput -data FILE.f32 -n N -dim D -epochs E
//	                                  train the default network (256,128,64,32; batch 32; Adam; dropout 0.1;
//	                                  grad clip 1.0) on the rows and print samples per second and GFLOP/s
//	mlroot -data FILE.f32 -n N -dim D -root DIR
//	                                  lay out an ml-root (training channel = embeddings.npy + metadata.csv,
//	                                  ages 2-18, 10% concern) for a full `sagetrain train` memory run
//	fashion -class C -root DIR        lay out the 2,000-image Fashion-MNIST one-vs-rest task (fashion.go)
//	                                  for the time-to-a-model run of `sagetrain train` with defaults
//
// Every mode takes -cpuprofile FILE: a CPU profile of the run, for go tool pprof.
//
// groups.sh times `sagetrain train` itself on a job of many age groups (the
// sample data), on one core and on two: the case where the groups train side
// by side, one per core.
package main
