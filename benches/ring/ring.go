// thread-ring in Go: 503 goroutines connected by unbuffered channels pass a
// token; the one that receives 0 answers its number. Run with one OS
// thread (GOMAXPROCS=1, set below). Prints "<answer> <ns per hop>".
//
//	go run ring.go 10000000
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

const ring = 503

func worker(id int, in <-chan int, out chan<- int, done chan<- int) {
	for {
		token := <-in
		if token == 0 {
			done <- id
			return
		}
		out <- token - 1
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	hops := 1000
	if len(os.Args) > 1 {
		hops, _ = strconv.Atoi(os.Args[1])
	}
	done := make(chan int)
	first := make(chan int)
	in := first
	for id := 1; id <= ring; id++ {
		out := first
		if id < ring {
			out = make(chan int)
		}
		go worker(id, in, out, done)
		in = out
	}
	start := time.Now()
	first <- hops
	answer := <-done
	elapsed := time.Since(start)
	fmt.Printf("%d %.2f\n", answer, float64(elapsed.Nanoseconds())/float64(hops))
}
