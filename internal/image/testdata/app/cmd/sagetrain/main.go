// A stand-in trainer for the image tests: small, so builds are fast.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	_, err := time.LoadLocation("Europe/Paris") // tzdata must be embedded
	fmt.Printf("fixture trainer args=%v tz_ok=%v\n", os.Args[1:], err == nil)
}
