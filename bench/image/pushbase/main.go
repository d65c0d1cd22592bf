package main

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sagetrain/sagetrain/internal/image"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pushbase REGISTRY/REPO:TAG")
		os.Exit(2)
	}
	base, err := image.MinimalBase(v1.Platform{OS: "linux", Architecture: "amd64"}, nil, time.Unix(0, 0))
	if err == nil {
		var p image.Published
		p, err = image.RegistryPublisher{Ref: os.Args[1]}.Publish(context.Background(), base)
		if err == nil {
			fmt.Println(p.Reference)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "pushbase:", err)
	os.Exit(1)
}
